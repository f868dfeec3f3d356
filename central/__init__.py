"""The central archive: receiver nodes, their state and stores, and the SIP check on arrival.

Specified in ``docs/design.md`` section 5 (the wire format and the receiver's
rules). Imports ``sync`` (formats, signing, Merkle log) and ``records``
(package checks); never ``firmware_agent``, ``drivers`` or ``imaging``, so a
server installs none of the station's hardware or imaging libraries.
"""

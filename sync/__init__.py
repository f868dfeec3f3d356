"""What the station and the central archive share: the batch format, at-rest
encryption, signing, the Merkle log and receipts, tus protocol constants, and
the station's upload client.

Specified in ``docs/design.md`` section 5. Imports nothing of ``firmware_agent``
or ``central``.
"""

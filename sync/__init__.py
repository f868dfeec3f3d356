"""Batch format, at-rest encryption, Merkle log, receipts, tus client and receiver.

Specified in ``docs/design.md`` section 5. This package never imports
``firmware_agent``; what it needs from the appliance is passed in.
"""

"""The central web: staff pages, search, heartbeats, audit trail (docs/design.md §5.15)."""

"""The station's message catalogue (``messages.toml`` beside this file; docs/design.md §1.1).

Look a message up by its literal code, ``CATALOGUE["scanner.paper_jam"]``, so
``tests/test_messages.py`` can find every code the station uses.
"""

from __future__ import annotations

from pathlib import Path

from sync.catalogue import Catalogue, load

CATALOGUE: Catalogue = load(Path(__file__).with_name("messages.toml"))

"""What the operator reads of a scanner: its state, in Vietnamese first with English beside.

The words are the ``scanner.`` messages of the station's catalogue
(``firmware_agent/messages.toml``); this module maps each state code a scan
worker reports (and each ``ScannerError.code``) to its message. The README's
status-message table is generated from ``MESSAGES`` (see ``sohoa messages``), so
the page, the log and the manual never disagree.
"""

from __future__ import annotations

import types

from drivers.scanner import ScannerError
from firmware_agent.messages import CATALOGUE
from sync.catalogue import Message

# State code -> message, in the README table's order.
MESSAGES: types.MappingProxyType[str, Message] = types.MappingProxyType({
    "ready": CATALOGUE["scanner.ready"],
    "scanning": CATALOGUE["scanner.scanning"],
    "job_done": CATALOGUE["scanner.job_done"],
    "paper_jam": CATALOGUE["scanner.paper_jam"],
    "cover_open": CATALOGUE["scanner.cover_open"],
    "feeder_empty": CATALOGUE["scanner.feeder_empty"],
    "device_busy": CATALOGUE["scanner.device_busy"],
    "io_error": CATALOGUE["scanner.io_error"],
    "access_denied": CATALOGUE["scanner.access_denied"],
    "no_memory": CATALOGUE["scanner.no_memory"],
    "unplugged": CATALOGUE["scanner.unplugged"],
    "hung": CATALOGUE["scanner.hung"],
    "driver_failed": CATALOGUE["scanner.driver_failed"],
    "cancelled": CATALOGUE["scanner.cancelled"],
    "invalid_setting": CATALOGUE["scanner.invalid_setting"],
    "scanner_error": CATALOGUE["scanner.scanner_error"],
    "disk_full": CATALOGUE["scanner.disk_full"],
    "interrupted": CATALOGUE["scanner.interrupted"],
    "page_unreadable": CATALOGUE["scanner.page_unreadable"],
})

# States after which the job waits for the operator to fix something and press the button again.
RESUMABLE = frozenset({"paper_jam", "cover_open", "io_error", "unplugged", "hung", "driver_failed", "disk_full",
                       "device_busy", "no_memory", "access_denied"})


def message_for(code: str) -> Message:
    return MESSAGES.get(code, MESSAGES["scanner_error"])


def message_for_error(err: ScannerError) -> Message:
    return message_for(err.code)


def markdown_table() -> str:
    """The README table of every status message."""
    lang, action = CATALOGUE["cli.messages_table.language"], CATALOGUE["cli.messages_table.action"]
    rows = [f"| code | {lang.vi} | {lang.en} | {action.vi} | {action.en} |", "|---|---|---|---|---|"]
    for code, m in MESSAGES.items():
        rows.append(f"| `{code}` | {m.vi} | {m.en} | {m.action_vi or '-'} | {m.action_en or '-'} |")
    return "\n".join(rows)

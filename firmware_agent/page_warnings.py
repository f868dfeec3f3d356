"""What the operator reads of a page warning of the imaging pipeline, Vietnamese first.

The words are the ``page.warning.`` messages of the station's catalogue
(``firmware_agent/messages.toml``); this module maps each code a page's analysis
may carry (``imaging.record.WARNING_CODES``) to its message, and puts a
warning's measure and limit beside the words.
"""

from __future__ import annotations

import types

from firmware_agent.messages import CATALOGUE
from sync.catalogue import Message

# Warning code -> message, in the order of the design's warnings table.
MESSAGES: types.MappingProxyType[str, Message] = types.MappingProxyType({
    "content_at_edge": CATALOGUE["page.warning.content_at_edge"],
    "crop_unsure": CATALOGUE["page.warning.crop_unsure"],
    "orientation_unsure": CATALOGUE["page.warning.orientation_unsure"],
    "blur": CATALOGUE["page.warning.blur"],
    "too_light": CATALOGUE["page.warning.too_light"],
    "low_contrast": CATALOGUE["page.warning.low_contrast"],
    "too_dark": CATALOGUE["page.warning.too_dark"],
    "low_resolution": CATALOGUE["page.warning.low_resolution"],
    "low_colour_depth": CATALOGUE["page.warning.low_colour_depth"],
    "page_size_change": CATALOGUE["page.warning.page_size_change"],
})


def describe(warning: dict) -> str:
    """One line for a warning of a page's analysis: ``vi / en [code: measure; limit]``, then what to do.

    A code the catalogue does not know (an analysis written by a later version)
    is shown as the code itself rather than hidden.
    """
    code = str(warning.get("code", ""))
    figures = f"[{code}: {warning.get('measure')}; {warning.get('limit')}]"
    message = MESSAGES.get(code)
    if message is None:
        return figures
    line = f"{message.text} {figures}"
    return f"{line}: {message.action_vi} / {message.action_en}" if message.action_vi else line

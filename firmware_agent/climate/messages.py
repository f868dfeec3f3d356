"""Operator-facing texts of the climate task: each alert kind, fault reason and rating with its message.

The words are the ``climate.`` messages of the station's catalogue
(``firmware_agent/messages.toml``); these mappings say which message a code the
climate task computes at run time stands for.
"""

from __future__ import annotations

import types

from firmware_agent.messages import CATALOGUE
from sync.catalogue import Message

ALERT_MESSAGES = types.MappingProxyType({
    "t_high": CATALOGUE["climate.alert.t_high"],
    "t_low": CATALOGUE["climate.alert.t_low"],
    "rh_high": CATALOGUE["climate.alert.rh_high"],
    "rh_low": CATALOGUE["climate.alert.rh_low"],
    "mold": CATALOGUE["climate.alert.mold"],
    "sensor": CATALOGUE["climate.alert.sensor"],
})

# A driver's SensorError.reason -> message.
FAULT_MESSAGES = types.MappingProxyType({
    "unplugged": CATALOGUE["climate.fault.unplugged"],
    "missing": CATALOGUE["climate.fault.missing"],
    "io": CATALOGUE["climate.fault.io"],
    "busy": CATALOGUE["climate.fault.busy"],
    "crc": CATALOGUE["climate.fault.crc"],
    "no_probe": CATALOGUE["climate.fault.no_probe"],
    "range": CATALOGUE["climate.fault.range"],
    "garbage": CATALOGUE["climate.fault.garbage"],
    "power_on": CATALOGUE["climate.fault.power_on"],
    "firmware": CATALOGUE["climate.fault.firmware"],
    "stuck": CATALOGUE["climate.fault.stuck"],
    "error": CATALOGUE["climate.fault.error"],
})

RATING_MESSAGES = types.MappingProxyType({
    "good": CATALOGUE["climate.rating.good"],
    "ok": CATALOGUE["climate.rating.ok"],
    "risk": CATALOGUE["climate.rating.risk"],
})


def both(msg: Message) -> str:
    """``'Vietnamese / English'`` as shown to operators."""
    return msg.text


def alert_text(kind: str) -> str:
    msg = ALERT_MESSAGES.get(kind)
    return msg.text if msg is not None else f"{kind} / {kind}"


def fault_text(reason: str) -> tuple[str, str]:
    msg = FAULT_MESSAGES.get(reason, FAULT_MESSAGES["error"])
    return msg.vi, msg.en

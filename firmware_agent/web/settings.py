"""The ``[web]`` section: the status page's address, allowed host names, passwords and kiosk mode."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from firmware_agent.messages import CATALOGUE
from firmware_agent.settings_base import ConfigError, setting
from sync.passwords import password_hash_ok


def _host_name_ok(name: object) -> bool:
    """A DNS name or an IP address, as a Host header carries it without its port."""
    if not isinstance(name, str) or not name.strip() or any(c in name for c in "/ @?#"):
        return False
    if ":" in name:  # only an IPv6 literal may hold a colon
        try:
            ipaddress.IPv6Address(name.strip().strip("[]"))
        except ValueError:
            return False
    return True


@dataclass(frozen=True)
class WebSettings:
    bind: str = setting("127.0.0.1", doc="Address of the status page. Loopback by default; see allow_lan.")
    port: int = setting(8080, doc="TCP port of the status page (0 = any free port).", minimum=0, maximum=65535)
    allow_lan: bool = setting(False, doc="Must be true to bind to a non-loopback address.")
    hostnames: tuple[str, ...] = setting(factory=tuple, doc="Host names the page answers besides localhost, "
                                         "127.0.0.1, [::1] and the bind address, e.g. ['scan-station.local', "
                                         "'192.168.1.20']; any other Host header is refused (DNS rebinding).")
    password_hash: str = setting("", doc="Technician password, as `sohoa passwd` prints it; guards held-record "
                                         "decisions, settings and anything destructive. Empty = none of those.")
    operator_pin_hash: str = setting("", doc="Operator PIN, as `sohoa passwd --operator` prints it; lets an "
                                             "operator start and cancel scans. Empty = no PIN.")
    operator_open: bool = setting(False, doc="Kiosk: scan and cancel need no login (still only from the page "
                                             "itself). Not together with operator_pin_hash.")

    def __post_init__(self) -> None:
        # Lists arrive from TOML as lists; keep the frozen settings hashable and checked.
        problems = []
        if not isinstance(self.hostnames, (list, tuple)) or not all(map(_host_name_ok, self.hostnames)):
            problems.append("web.hostnames: "
                            f"{CATALOGUE['config.problem.hostnames'].format(got=repr(self.hostnames)).text}")
        else:
            object.__setattr__(self, "hostnames", tuple(h.strip() for h in self.hostnames))
        for key in ("password_hash", "operator_pin_hash"):
            value = getattr(self, key)
            if value and not password_hash_ok(value):
                problems.append(f"web.{key}: {CATALOGUE['config.problem.not_a_hash'].format(got=repr(value[:20])).text}")
        if self.operator_open and self.operator_pin_hash:
            problems.append(f"web.operator_open: {CATALOGUE['config.problem.kiosk_and_pin'].text}")
        if problems:  # all of them at once (the loader lists every problem of a file)
            raise ConfigError("\n".join(problems), problems=problems)

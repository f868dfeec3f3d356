"""Climate alerts with hysteresis and a minimum duration (design §7.6).

Each (sensor, kind) pair is a two-state machine. A change of state needs its
condition (beyond the threshold to raise; back inside by the hysteresis margin
to clear) to hold at every sample for ``min_duration_s``; any sample that
breaks it restarts the wait. Raised and cleared alerts go to the store so they
survive a restart.
"""

from __future__ import annotations

from dataclasses import dataclass

from firmware_agent.climate.messages import alert_text
from firmware_agent.climate.metrics import mold_rh_critical, mold_risk_per_day
from firmware_agent.climate.store import ClimateStore
from firmware_agent.climate.settings import AlertSettings


@dataclass
class _State:
    active: bool = False
    since: float | None = None  # when the condition for the next change started to hold
    started: float | None = None
    peak: float | None = None


class AlertEngine:
    """Evaluates readings and faults; remembers state per (sensor, kind)."""

    def __init__(self, settings: AlertSettings, store: ClimateStore) -> None:
        self.settings = settings
        self.store = store
        self._states: dict[tuple[str, str], _State] = {}
        for alert in store.open_alerts():
            self._states[(alert["sensor"], alert["kind"])] = _State(True, None, alert["started"], alert["peak"])

    def _step(self, sensor: str, kind: str, now: float, raise_cond: bool, clear_cond: bool,
              value: float | None, min_s: float, worse: int = 1) -> None:
        st = self._states.setdefault((sensor, kind), _State())
        if not st.active:
            if not raise_cond:
                st.since = None
                return
            st.since = now if st.since is None else st.since
            st.peak = value if st.peak is None or value is None else (max if worse > 0 else min)(st.peak, value)
            if now - st.since >= min_s:
                st.active, st.started = True, st.since
                st.since = None
                self.store.open_alert(sensor, kind, st.started, st.peak, alert_text(kind))
            return
        if value is not None and st.peak is not None:
            st.peak = (max if worse > 0 else min)(st.peak, value)
        if not clear_cond:
            st.since = None
            return
        st.since = now if st.since is None else st.since
        if now - st.since >= min_s:
            self.store.close_alert(sensor, kind, now)
            self._states[(sensor, kind)] = _State()

    def reading(self, sensor: str, now: float, t_c: float, rh_pct: float | None) -> None:
        """Feed one good (calibrated) reading."""
        s = self.settings
        d = s.min_duration_s
        self._step(sensor, "t_high", now, t_c > s.t_high_c, t_c <= s.t_high_c - s.hysteresis_c, t_c, d)
        self._step(sensor, "t_low", now, t_c < s.t_low_c, t_c >= s.t_low_c + s.hysteresis_c, t_c, d, worse=-1)
        if rh_pct is not None:
            self._step(sensor, "rh_high", now, rh_pct > s.rh_high_pct, rh_pct <= s.rh_high_pct - s.hysteresis_pct,
                       rh_pct, d)
            self._step(sensor, "rh_low", now, rh_pct < s.rh_low_pct, rh_pct >= s.rh_low_pct + s.hysteresis_pct,
                       rh_pct, d, worse=-1)
            if s.mold:
                risk = mold_risk_per_day(t_c, rh_pct)
                clear = rh_pct <= mold_rh_critical(t_c) - s.hysteresis_pct
                self._step(sensor, "mold", now, risk > 0, clear, risk, d)
        self._step(sensor, "sensor", now, False, True, None, 0)

    def fault(self, sensor: str, now: float) -> None:
        """Feed one failed read: a fault alert after ``fault_after_s`` of failures."""
        self._step(sensor, "sensor", now, True, False, None, self.settings.fault_after_s)

    def active(self) -> list[dict]:
        """Active alerts, oldest first: sensor, kind, started, peak, message."""
        out = [{"sensor": s, "kind": k, "started": st.started, "peak": st.peak, "message": alert_text(k)}
               for (s, k), st in self._states.items() if st.active]
        return sorted(out, key=lambda a: (a["started"] or 0, a["sensor"], a["kind"]))

"""Storage-room climate: sampling, time series, preservation metrics, alerts, page and report.

See docs/design.md §7. The agent uses :class:`ClimateService`.
"""

from firmware_agent.climate.service import ClimateService

__all__ = ["ClimateService"]

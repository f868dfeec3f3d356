"""Storage-room climate: sampling, time series, preservation metrics, alerts, page and report.

See docs/design.md §7. The agent uses :class:`firmware_agent.climate.service.ClimateService`;
its settings are :mod:`firmware_agent.climate.settings` (which the config loader imports
without pulling in the service).
"""

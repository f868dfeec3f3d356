"""Hardware drivers: scanners, sensors, input keys. Never imports firmware_agent."""

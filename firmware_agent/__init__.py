"""sohoa appliance agent: wiring and policy (config, journal, tasks, status page, CLI)."""

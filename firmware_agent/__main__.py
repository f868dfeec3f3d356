from firmware_agent.cli import entry

entry()

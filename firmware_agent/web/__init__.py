"""The local status page (aiohttp, same process as the agent)."""

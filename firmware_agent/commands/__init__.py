"""One module per `sohoa` subcommand family.

Each module exposes ``register(subparsers)`` which adds its parsers and sets
``func`` to a handler ``(args) -> int``. Heavy imports (numba, cv2, aiohttp)
happen inside handlers so that `sohoa --help` stays fast.
"""

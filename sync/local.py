"""A receiver inside the current process, for the demo and tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aiohttp import web
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sync.enroll import Enrollment, enroll
from sync.receiver import CORE, ReceiverOptions
from sync.receiver_app import build_receiver_app
from sync.receiver_core import MemberCheck, ReceiverCore
from sync.store import Store


@dataclass
class LocalReceiver:
    url: str
    runner: web.AppRunner
    core: ReceiverCore

    async def close(self) -> None:
        await self.runner.cleanup()


async def start_local_receiver(root: Path, host: str = "127.0.0.1", port: int = 0, *,
                               member_check: MemberCheck | None = None,
                               opts: ReceiverOptions | None = None, store: Store | None = None) -> LocalReceiver:
    """Serve a receiver rooted at *root* on the running event loop; ``port=0`` picks a free one."""
    app = build_receiver_app(Path(root), member_check=member_check, opts=opts, store=store, own_process=False)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = runner.addresses[0][1]  # the real port when port=0
    return LocalReceiver(f"http://{host}:{bound}/", runner, app[CORE])


async def enroll_with_local(receiver: LocalReceiver, device_id: str, key: Ed25519PrivateKey) -> Enrollment:
    """Mint a token on *receiver* and enroll *key* with it, over HTTP like a real appliance."""
    token = receiver.core.state.mint_token(device_id, ttl_s=600)
    return await enroll(receiver.url, device_id, key, token)

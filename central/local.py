"""A receiver inside the current process, for the demo and tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sync.enroll import Enrollment, enroll
from central.receiver import CORE, ReceiverOptions
from central.receiver_app import Listening, build_receiver_app, start_listeners
from central.receiver_core import MemberCheck, ReceiverCore
from central.store import Store


@dataclass
class LocalReceiver:
    url: str
    listening: Listening
    core: ReceiverCore

    @property
    def metrics_url(self) -> str | None:
        """``http://127.0.0.1:<port>/metrics`` when started with a metrics listener, else None."""
        return self.listening.metrics_url

    async def close(self) -> None:
        await self.listening.close()


async def start_local_receiver(root: Path, host: str = "127.0.0.1", port: int = 0, *,
                               member_check: MemberCheck | None = None,
                               opts: ReceiverOptions | None = None, store: Store | None = None,
                               metrics_port: int | None = None, state=None, keys_dir: Path | None = None,
                               backends=None) -> LocalReceiver:
    """Serve a receiver rooted at *root* on the running event loop; ``port=0`` picks a free one.

    *metrics_port* (0: a free one) also starts the loopback metrics listener. *backends*, if
    given, is called with *root* and returns ``(state, store)`` (the tests' PostgreSQL and S3).
    """
    if backends is not None:
        state, store = backends(Path(root))
    app = build_receiver_app(Path(root), member_check=member_check, opts=opts, store=store, own_process=False,
                             state=state, keys_dir=keys_dir)
    listening = await start_listeners(app, host, port, metrics_port=metrics_port)
    return LocalReceiver(listening.url, listening, app[CORE])


async def enroll_with_local(receiver: LocalReceiver, device_id: str, key: Ed25519PrivateKey) -> Enrollment:
    """Mint a token on *receiver* and enroll *key* with it, over HTTP like a real appliance."""
    token = receiver.core.state.mint_token(device_id, ttl_s=600)
    return await enroll(receiver.url, device_id, key, token)

"""Simulated stations for ``sohoa-central demo``: real SIP_hoso packages in real, signed, sealed batches.

Each package is built by the station's own package code (:mod:`records.package`:
PDF/A-2b with an OCR text layer, EAD metadata, METS, checksums) from a page
image drawn here; each batch is sealed with :func:`sync.batch.seal_batch`
(format version 2, signed by the station's device key, encrypted to the
archive key received at enrollment) and delivered with the station's tus
client and receipt check (:func:`sync.deliver.deliver`). Nothing here stands
in for a server: the stations talk HTTP to real receiver nodes.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sync.auth import HeaderSource
from sync.batch import seal_batch
from sync.canon import ZERO_HASH
from sync.client import TransientError, TusClient
from sync.deliver import Outbound, deliver
from sync.enroll import enroll
from sync.keys import ed25519_public, x25519_public

# Document subjects of a commune's records (the paper's own words, as a station's OCR reads them).
# (commune, district, province) of the demo's stations.
PLACES = (("Tân Lập", "Cẩm Khê", "Phú Thọ"), ("Sơn Vi", "Lâm Thao", "Phú Thọ"),
          ("Hoàng Văn Thụ", "Thành phố Lạng Sơn", "Lạng Sơn"), ("Đồng Xuân", "Thanh Ba", "Phú Thọ"))
SUBJECTS = ("Giấy khai sinh", "Giấy chứng nhận kết hôn", "Trích lục khai tử", "Quyết định giao đất")


@dataclass(frozen=True)
class Package:
    member: str
    data: bytes
    file_code: str
    documents: int
    pages: int
    sidecar: tuple[str, bytes] | None = None  # its documents' confidences (formats 6.7); None when secret

    def members(self) -> list[tuple[str, bytes]]:
        """The batch members a station sends for this record file: its confidences first, then the package."""
        return ([self.sidecar] if self.sidecar else []) + [(self.member, self.data)]


def _page(path: Path, title: str, seed: int) -> tuple[Path, list[str]]:
    """A scanned-looking A5 page at 100 dpi with *title* printed on it; returns the JPEG and its words."""
    from PIL import Image, ImageDraw

    from records.fonts import pil_font
    rnd = random.Random(seed)
    img = Image.new("L", (583, 827), 244)
    draw = ImageDraw.Draw(img)
    words = title.split()
    draw.text((40, 60), title, fill=20, font=pil_font(24, bold=True))
    for line in range(12):  # body text lines as grey bars, slightly uneven like a typed page
        y = 130 + 42 * line
        draw.rectangle((40, y, 40 + rnd.randint(300, 500), y + 10), fill=rnd.randint(60, 110))
    img.save(path, quality=80, dpi=(100, 100))
    return path, words


def build_packages(out: Path, count: int, *, agency: str = "H49.64.33", modes: tuple[str, ...] = ("01",),
                   secret_key: bytes | None = None) -> list[Package]:
    """*count* SIP_hoso packages of one or two documents of one page each.

    Package *n* has mode ``modes[n % len(modes)]``; a secret one (03) is encrypted to *secret_key* (32 raw
    bytes of an X25519 public key), as a station encrypts it.
    """
    from records import confidence_sidecar
    from records.confidence import default_thresholds
    from records.ocr import OcrResult, Word
    from records.package import DocPages, build_package
    from records.pdfa import PageInput
    from records.sip import doc_id

    made = []
    Path(out).mkdir(parents=True, exist_ok=True)
    for n in range(count):
        file_code = f"{agency}.2025.{200 + n}"
        docs, values = [], []
        for d in range(1 + n % 2):
            subject = SUBJECTS[(n + d) % len(SUBJECTS)]
            jpg, words = _page(out / f"page-{n}-{d}.jpg", f"{subject} số {n + 1}", seed=n * 10 + d)
            ocr = OcrResult([Word(t, 40 + 70 * i, 60, 60, 24, 95.0, 0) for i, t in enumerate(words)], 583, 827, 100,
                            lines=[" ".join(words)])
            docs.append(DocPages(d + 1, [PageInput(jpg, 100, ocr)]))
            values.append({"typeName": "01", "subject": subject, "organName": "UBND xã Tân Phú"})
        mode = modes[n % len(modes)]
        cover = {"file_code": file_code, "title": f"Hồ sơ hộ tịch {n + 1}", "mode": mode}
        path, folder, pages = build_package(file_id=n + 1, cover=cover, docs=docs, doc_values=values, agency=agency,
                                            out_dir=out / "packages", work_dir=out / f"work-{n}",
                                            recipient_key=secret_key if mode == "03" else None)
        member = f"{folder}.zip" + (".enc" if mode == "03" else "")
        sidecar = None
        if mode != "03":
            # As a station's analysis scores them: most values sure, now and then a subject below its
            # threshold, which a technician confirmed on every other record file.
            thresholds = default_thresholds()
            conf = [(doc_id(file_code, d + 1), {"typeName": 0.97, "organName": 0.91,
                                                "subject": 0.62 if (n + d) % 3 == 0 else 0.95}, thresholds, n % 2 == 0)
                    for d in range(len(docs))]
            sidecar = (confidence_sidecar.member_name(folder), confidence_sidecar.encode(folder, conf))
        made.append(Package(member, path.read_bytes(), file_code, len(docs), pages, sidecar))
    return made


@dataclass
class Station:
    """One commune station: its device key, its chain of batches, and the batches it sent."""

    dir: Path
    device_id: str
    key: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)
    seq: int = 0
    prev: str = ZERO_HASH
    enrollment: object = None
    sent: list = field(default_factory=list)

    async def enroll(self, url: str, token: str) -> None:
        self.enrollment = await enroll(url, self.device_id, self.key, token)

    def seal(self, members: list[tuple[str, bytes]], *, pages: int, documents: int) -> Outbound:
        seq = self.seq + 1
        folder = Path(self.dir) / self.device_id
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for name, data in members:
            p = folder / f"{seq}-{name}"
            p.write_bytes(data)
            paths.append((name, p))
        s = seal_batch(folder / f"batch-{seq:06d}.sohoa", sorted(paths), device_id=self.device_id, seq=seq,
                       prev=self.prev, created=1764028800 + seq, pages=pages, documents=documents, climate=None,
                       device_key=self.key, archive_public=x25519_public(self.enrollment.archive_public_key))
        self.seq, self.prev = seq, s.batch_hash
        return Outbound(self.device_id, seq, s.batch_hash, s.file_sha256, s.size, s.path)

    async def send(self, urls: list[str], batch: Outbound, *, on_progress: Callable[[int, int], None] | None = None,
                   attempts: int = 300, pause_s: float = 0.2, chunk_size: int = 1 << 20) -> dict:
        """Deliver *batch*, resuming through the next of *urls* after a failure; returns the verified receipt."""
        log_public = ed25519_public(self.enrollment.log_public_key)
        upload_path, last = None, None

        def keep(u: str) -> None:
            nonlocal upload_path
            upload_path = "/files/" + u.rstrip("/").rsplit("/", 1)[1]
        for attempt in range(attempts):
            base = urls[attempt % len(urls)]
            client = TusClient(base, HeaderSource(self.device_id, self.key), chunk_size=chunk_size)
            url = base.rstrip("/") + upload_path if upload_path else None
            try:
                receipt, _ = await deliver(client, batch, log_public, url=url, on_created=keep,
                                           on_progress=on_progress)
                self.sent.append(batch)
                return receipt
            except TransientError as exc:  # a node killed, a load balancer re-routing: resume elsewhere
                last = exc
                await asyncio.sleep(pause_s)
            finally:
                await client.close()
        raise RuntimeError(f"batch {batch.device_id}/{batch.seq} not delivered: {last}")

"""Stations that send real SIP_hoso packages in real batches to a receiver, for the ingest tests and bench,
and the ingest benchmark (packages/s and pages/s per worker, catalogue size per million pages).

A :class:`Station` enrolls over HTTP with a one-time token, seals each batch
with ``sync.batch.seal_batch`` (batch format version 2, signed by its device
key, encrypted to the archive key it received at enrollment) and delivers it
with the station's own tus client and receipt check.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sync.auth import HeaderSource
from sync.batch import seal_batch
from sync.canon import ZERO_HASH
from sync.client import TransientError, TusClient
from sync.deliver import Outbound, deliver
from sync.enroll import enroll
from sync.keys import ed25519_public, x25519_public


@dataclass(frozen=True)
class SamplePackage:
    """A SIP_hoso package as a station stages it: its member name, bytes and what it holds."""

    member: str
    data: bytes
    file_code: str
    documents: int
    pages: int
    secret: bool
    words: tuple = ()       # the OCR words drawn in its PDFs' text layer, in page order


def sample_packages(out: Path, archive_key, layouts: list[tuple[int, int]], *, secret=(), dpi: int = 100,
                    first: int = 0) -> list[SamplePackage]:
    """Packages built by the station's own code (``records.package.build_package``) from generated scans
    of Vietnamese papers; *layouts* gives (documents, pages per document) per package, *secret* the
    indexes of those made mode 03 (encrypted to *archive_key*). Each page's OCR words are its title and
    subject laid out on one line (OCR itself is not what this exercises)."""
    from firmware_agent.records import samples
    from records.ocr import OcrResult, Word
    from records.package import DocPages, build_package
    from records.pdfa import PageInput
    from sync.keys import raw_public

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    made = []
    for n, (ndocs, npages) in enumerate(layouts, first):
        is_secret = n in secret
        file_code = f"H49.64.33.2020.{100 + n}"
        docs, values, words = [], [], []
        for d in range(ndocs):
            pages = []
            for p in range(npages):
                spec = samples.SPECS[(n + d + p) % len(samples.SPECS)]
                img = samples.scanned(samples.render_page(spec, dpi, continuation=p), seed=n * 100 + d * 10 + p)
                jpg = out / f"p{n}-{d}-{p}.jpg"
                img.save(jpg, quality=80, dpi=(dpi, dpi))
                line = f"{spec.title} {spec.subject}".split()
                words.extend(line)
                ocr = OcrResult([Word(t, 40 + 60 * i, 60, 50, 20, 95.0, 0) for i, t in enumerate(line)],
                                img.width, img.height, dpi, lines=[" ".join(line)])
                pages.append(PageInput(jpg, dpi, ocr))
            docs.append(DocPages(d + 1, pages))
            values.append({"typeName": spec.type_code, "subject": spec.subject, "organName": spec.organ})
        cover = {"file_code": file_code, "title": f"Hồ sơ mẫu số {n}", "mode": "03" if is_secret else "01"}
        path, folder, pages = build_package(file_id=n + 1, cover=cover, docs=docs, doc_values=values,
                                            agency="H49.64.33", out_dir=out / "pkg", work_dir=out / f"w{n}",
                                            recipient_key=raw_public(archive_key.public_key()) if is_secret else None)
        member = f"{folder}.zip" + (".enc" if is_secret else "")
        made.append(SamplePackage(member, path.read_bytes(), file_code, ndocs, pages, is_secret, tuple(words)))
        path.unlink()
    return made


@dataclass(frozen=True)
class Sent:
    """One delivered batch: its device, seq and members (name -> bytes)."""

    device_id: str
    seq: int
    batch_hash: str
    members: dict


class Station:
    def __init__(self, workdir: Path, device_id: str):
        self.dir = Path(workdir) / device_id
        self.dir.mkdir(parents=True, exist_ok=True)
        self.device_id = device_id
        self.key = Ed25519PrivateKey.generate()
        self.seq, self.prev = 0, ZERO_HASH
        self.enrollment = None

    async def enroll(self, url: str, token: str) -> None:
        self.enrollment = await enroll(url, self.device_id, self.key, token)

    def seal(self, members: list[tuple[str, bytes | Path]], *, pages: int, documents: int,
             climate: dict | None = None) -> Outbound:
        """Seal the next batch of *members* (name with its bytes, or with the path of a file holding them)."""
        seq = self.seq + 1
        paths = []
        for name, data in members:
            if isinstance(data, Path):
                paths.append((name, data))
                continue
            p = self.dir / f"{seq}-{name}"
            p.write_bytes(data)
            paths.append((name, p))
        out = self.dir / f"batch-{seq:06d}.sohoa"
        s = seal_batch(out, sorted(paths), device_id=self.device_id, seq=seq, prev=self.prev,
                       created=1764028800 + seq, pages=pages, documents=documents, climate=climate,
                       device_key=self.key, archive_public=x25519_public(self.enrollment.archive_public_key))
        self.seq, self.prev = seq, s.batch_hash
        return Outbound(self.device_id, seq, s.batch_hash, s.file_sha256, s.size, s.path)

    async def send(self, url: str, batch: Outbound, *, attempts: int = 50) -> dict:
        """Deliver *batch* (retrying transient failures) and return its verified receipt."""
        client = TusClient(url, HeaderSource(self.device_id, self.key))
        log_public = ed25519_public(self.enrollment.log_public_key)
        upload_url = None

        def keep(u: str) -> None:
            nonlocal upload_url
            upload_url = u
        last = None
        try:
            for _ in range(attempts):
                try:
                    receipt, _ = await deliver(client, batch, log_public, url=upload_url, on_created=keep)
                    return receipt
                except TransientError as exc:
                    last = exc
                    await asyncio.sleep(0.05)
        finally:
            await client.close()
        raise RuntimeError(f"batch {batch.device_id}/{batch.seq} not delivered: {last}")

    async def send_members(self, url: str, members: list[tuple[str, bytes]], *, pages: int, documents: int,
                           climate: dict | None = None) -> Sent:
        batch = self.seal(members, pages=pages, documents=documents, climate=climate)
        await self.send(url, batch)
        return Sent(self.device_id, batch.seq, batch.batch_hash, dict(members))


# ---------------------------------------------------------------------------------------------- benchmark
BENCH_LAYOUT = (3, 2)        # documents per package, pages per document
BENCH_PACKAGES = 12
BENCH_PER_BATCH = 2


def _cpu_s() -> float:
    """CPU seconds of this process (all threads) and of the children it waited for."""
    import resource
    return sum(r.ru_utime + r.ru_stime for r in (resource.getrusage(resource.RUSAGE_SELF),
                                                 resource.getrusage(resource.RUSAGE_CHILDREN)))


def _catalogue_bytes(state) -> int:
    """PostgreSQL: every ``cat_*`` table with its indexes and TOAST (pg_total_relation_size)."""
    row = state._all("SELECT SUM(pg_total_relation_size(c.oid)) AS n FROM pg_class c "
                     "WHERE c.relkind = 'r' AND left(c.relname, 4) = 'cat_'")[0]
    return int(row["n"] or 0)


def _ingest_once(work: Path, backend: str, key, pkgs: list[SamplePackage], services) -> dict:
    """Deliver the packages in two halves to a receiver on *backend*; after each, time one worker ingesting
    them. The catalogue's growth over the second half gives its size per page without the fixed costs."""
    import time

    from central.catalogue import table_counts
    from central.ingest import IngestWorker
    from central.local import start_local_receiver
    from sync.keys import save_private

    root = work / backend
    (root / "keys").mkdir(parents=True)
    save_private(root / "keys" / "archive_x25519.pem", key)
    opener = None
    if backend == "postgresql-s3":
        pg, weed = services
        url, bucket = pg.new_database("bi"), weed.new_bucket("bi")

        def opener(_root=None):
            from central.s3store import S3Store
            from central.state_pg import PgState
            state = PgState(url, pool_min=1, pool_max=8)
            return state, S3Store(weed.client(), bucket, "sohoa", state, part_size=8 << 20)
        st, _ = opener()
        st.migrate()
        st.close()
    stations = [Station(work / f"st-{backend}", f"xa-{i}") for i in (1, 2)]

    async def deliver(part: list[SamplePackage], first: bool):
        rx = await start_local_receiver(root, backends=opener)
        try:
            if first:
                for s in stations:
                    await s.enroll(rx.url, rx.core.state.mint_token(s.device_id, ttl_s=600))
            for i in range(0, len(part), BENCH_PER_BATCH):
                chosen = part[i:i + BENCH_PER_BATCH]
                await stations[(i // BENCH_PER_BATCH) % 2].send_members(
                    rx.url, [(p.member, p.data) for p in chosen], pages=sum(p.pages for p in chosen),
                    documents=sum(p.documents for p in chosen))
        finally:
            await rx.close()

    import os
    load = os.getloadavg()[0]
    half = len(pkgs) // 2
    seconds = cpu = 0.0
    sizes, totals = [], {"packages": 0, "pages": 0, "done": 0, "failed": 0}
    for n, part in enumerate((pkgs[:half], pkgs[half:])):
        asyncio.run(deliver(part, n == 0))
        if opener is None:
            from central.receiver_state import ReceiverState
            from central.store import FileStore
            state, store = ReceiverState(root / "receiver.sqlite3"), FileStore(root)
        else:
            state, store = opener()
        try:
            worker = IngestWorker(state, store, key, lease_s=60)
            t0, c0 = time.perf_counter(), _cpu_s()
            got = worker.run(until_idle=True)
            seconds, cpu = seconds + time.perf_counter() - t0, cpu + _cpu_s() - c0
            for k in totals:
                totals[k] += got[k]
            counts = table_counts(state)
            if opener is not None:
                sizes.append((_catalogue_bytes(state), totals["pages"]))
                text = state._all("SELECT SUM(octet_length(text)) AS n FROM cat_text")[0]["n"]
            else:
                text = state._all("SELECT SUM(length(CAST(text AS BLOB))) AS n FROM cat_text")[0]["n"]
        finally:
            state.close()
    if totals["failed"] or totals["done"] != len(pkgs) // BENCH_PER_BATCH:
        raise RuntimeError(f"ingest did not catalogue every batch: {totals}")
    marginal = None
    if sizes:
        (b1, p1), (b2, p2) = sizes
        marginal = (b2 - b1) / (p2 - p1)
    return {"backend": backend, "load": load, "packages": totals["packages"], "pages": totals["pages"], "seconds": seconds,
            "cpu": cpu, "rows": counts, "catalogue_bytes": sizes[-1][0] if sizes else None,
            "bytes_per_page": marginal, "text_bytes": int(text or 0),
            "package_bytes": sum(len(p.data) for p in pkgs)}


def bench_ingest(work: Path) -> list[dict]:
    """One worker on SQLite + files and on PostgreSQL + SeaweedFS S3 (real servers, bench/central_services)."""
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    from bench.central_services import PgCluster, SeaweedS3

    key = X25519PrivateKey.generate()
    pkgs = sample_packages(work / "pkgs", key, [BENCH_LAYOUT] * BENCH_PACKAGES, dpi=150)
    pg, weed = PgCluster(), SeaweedS3()
    try:
        return [_ingest_once(work, b, key, pkgs, (pg, weed)) for b in ("sqlite-file", "postgresql-s3")]
    finally:
        weed.close()
        pg.close()


def report(runs: list[dict]) -> list[str]:
    lines = [
        "### Central ingest (design 5.13)",
        "",
        f"One `IngestWorker` in one process ingests {BENCH_PACKAGES} packages ({BENCH_LAYOUT[0]} documents × "
        f"{BENCH_LAYOUT[1]} pages each, generated 150 dpi scans packaged by the station's own code) that two "
        f"stations sent in batches of {BENCH_PER_BATCH} to a real receiver: claim, decrypt (age), decompress, "
        "`sip verify` of every package (XSD, checksums, PDF/A-2b), OCR text read from every PDF, every package "
        "and PDF written as an object, one commit per batch. Wall time from the first claim to an empty queue; "
        "CPU is the worker process's (all threads, and any child process); on a shared machine the CPU per page "
        f"is the figure that does not depend on the load (load average at the start: {runs[0]['load']:.1f}).",
        "",
        "| backend | packages | pages | seconds | packages/s | pages/s | worker CPU per page |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        lines.append(f"| {r['backend']} | {r['packages']} | {r['pages']} | {r['seconds']:.1f} | "
                     f"{r['packages'] / r['seconds']:.2f} | {r['pages'] / r['seconds']:.1f} | "
                     f"{1000 * r['cpu'] / r['pages']:.0f} ms |")
    pg = [r for r in runs if r["bytes_per_page"] is not None]
    if pg:
        r = pg[0]
        lines += ["",
                  f"- catalogue on PostgreSQL (the `cat_*` tables with their indexes, TOAST and the GIN full-text "
                  f"index): {r['catalogue_bytes'] / 2**20:.2f} MiB after {r['pages']} pages; it grew by "
                  f"{r['bytes_per_page'] / 1024:.1f} KiB per page over the second half, i.e. "
                  f"{r['bytes_per_page'] * 1e6 / 2**30:.1f} GiB per million pages, at these pages' "
                  f"{r['text_bytes'] / r['pages']:.0f} bytes of OCR text each (the sample pages carry a title and "
                  f"a subject; a page of full OCR text adds its bytes to `cat_text` and its words to the GIN index, "
                  f"which this sample does not measure). Relations grow by whole 8 KiB pages, so a sample this "
                  f"small measures the growth coarsely.",
                  f"- rows: {r['rows']}"]
    lines += [f"- packages: {runs[0]['package_bytes'] / 2**20:.1f} MiB in all", ""]
    return lines

"""A record file's export from the web (design 5.15): the SIP_hoso package exactly as the station built it,
after the checks of `sohoa-central export` (catalogue hash and size, sip verify), audited; refused to a viewer,
refused for a secret record file, and refused with nothing served when the stored object is damaged."""

from __future__ import annotations

import asyncio
import hashlib

from central.catalogue import select_files
from central.catalogue_objects import objects_for
from central.web import audit
from records.sip_verify import verify


def test_archivist_gets_the_station_s_package_checked_and_audited(tmp_path, webkit):
    asyncio.run(_scenario(tmp_path, webkit))


async def _scenario(tmp_path, webkit) -> None:
    site = await webkit.start_site(tmp_path)
    try:
        webkit.add_staff(site.state)
        public, conditional, secret = await webkit.ingest_real(site, tmp_path, ("01", "02", "03"))
        url = site.web_url
        async with webkit.session() as s:
            assert await webkit.login(s, url, "viewer") in (302, 303)
            for pkg in (public, conditional, secret):
                async with s.get(f"{url}record/{pkg.file_code}/export") as r:
                    assert r.status == 403, pkg.file_code
        async with webkit.session() as s:
            assert await webkit.login(s, url, "archivist") in (302, 303)
            async with s.get(f"{url}record/{conditional.file_code}") as r:
                assert 'id="export"' in await r.text()
            async with s.get(f"{url}record/{conditional.file_code}/export") as r:
                body = await r.read()
                assert r.status == 200 and r.headers["Content-Type"] == "application/zip"
                assert r.headers["Content-Disposition"] == f'attachment; filename="{conditional.member}"'
            assert hashlib.sha256(body).digest() == hashlib.sha256(conditional.data).digest()
            (tmp_path / conditional.member).write_bytes(body)
            assert verify(tmp_path / conditional.member) == []
            entry = audit.entries(site.state, action="export")[0]
            assert (entry["actor"], entry["target"]) == ("archivist", conditional.file_code)
            async with s.get(f"{url}record/{secret.file_code}/export") as r:
                assert r.status == 403  # A03: nobody exports a secret record file from the web

            # One bit flipped in the stored package: refused, nothing of it served, the refusal audited.
            row = select_files(site.state, file_code=public.file_code)[0]
            path = objects_for(site.rx.core.store).base / row["package_key"]
            data = bytearray(path.read_bytes())
            data[len(data) // 2] ^= 1
            path.write_bytes(bytes(data))
            async with s.get(f"{url}record/{public.file_code}/export") as r:
                text = await r.text()
                assert r.status == 500 and "PK" not in text[:2]
            refused = audit.entries(site.state, action="export_refused")[0]
            assert refused["target"] == public.file_code and "differs from the catalogue" in refused["detail"]

            # A record file the web knows without a package in the archive: nothing to export.
            webkit.add_samples(site.state, "xa-that")
            async with s.get(f"{url}record/H01.001.2024.002/export") as r:
                assert r.status == 404
    finally:
        await site.close()

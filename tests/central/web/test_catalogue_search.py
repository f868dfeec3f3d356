"""The web's search over what ingest catalogued from real station packages (design 5.13 -> 5.15),
on SQLite + files and on PostgreSQL + SeaweedFS: OCR words found without their diacritics, a secret
package listed by its code only, a document's PDF served byte for byte from the object store."""

from __future__ import annotations

import asyncio
import io
import zipfile

from central.ingest import IngestWorker
from central.web import catalogue_feed
from central.web.records import unaccent


def test_search_sits_on_the_ingested_catalogue(ingest_site, kit, webkit, tmp_path):
    site = ingest_site
    state, store = site.open()
    try:
        totals = IngestWorker(state, store, site.key, lease_s=30).run(until_idle=True)
        assert totals["failed"] == 0 and totals["packages"] == 6
    finally:
        state.close()
    delivered = {n: p for s in site.sent for n, p in site.packages.items() if n in s.members}
    clear = {p.file_code: p for p in delivered.values() if not p.secret}
    secret = [p for p in delivered.values() if p.secret]
    assert clear and len(secret) == 1

    async def body():
        web = await webkit.start_site(tmp_path / "web", rx_root=site.root, backends=site.backend.open,
                                      feed_every_s=0.2)
        try:
            webkit.add_staff(web.state)
            async with webkit.session() as s:
                assert await webkit.login(s, web.web_url, "archivist") == 303

                async def find(q):
                    async with s.get(web.web_url + "api/search", params={"q": q}) as r:
                        assert r.status == 200
                        return await r.json()
                # The web's own feeder brings the catalogue in; a pass after it finds nothing new.
                for _ in range(300):
                    if web.state._one("SELECT COUNT(*) AS n FROM web_records")["n"] == len(clear) + 1:
                        break
                    await asyncio.sleep(0.1)
                assert catalogue_feed.feed(web.state) == 0
                # The titles, typed without diacritics.
                got = await find("ho so mau")
                assert {h["file_code"] for h in got["results"]} == set(clear)
                # A word of one package's OCR text layer, without its marks.
                code, pkg = sorted(clear.items())[0]
                word = next(w for w in pkg.words if unaccent(w) != w.lower() and len(w) > 3)
                got = await find(unaccent(word))
                assert code in {h["file_code"] for h in got["results"]}
                # The secret package: found by its code, nothing but ids and counts.
                got = await find(secret[0].file_code)
                (hit,) = [h for h in got["results"] if h["file_code"] == secret[0].file_code]
                assert hit["mode"] == "03" and hit["title"] == "" and hit.get("restricted") is True
                async with s.get(web.web_url + f"record/{secret[0].file_code}") as r:
                    assert r.status == 403
                # A document's PDF, from the object store, as it is in the station's package.
                with zipfile.ZipFile(io.BytesIO(pkg.data)) as zf:
                    pdfs = sorted((n.rsplit("/", 1)[1], zf.read(n)) for n in zf.namelist() if n.endswith(".pdf"))
                async with s.get(web.web_url + f"record/{code}/pdf/1") as r:
                    assert r.status == 200 and r.headers["Content-Type"] == "application/pdf"
                    assert await r.read() == pdfs[0][1]
                async with s.get(web.web_url + f"record/{code}") as r:
                    page = await r.text()
                assert pkg.file_code in page and "Hồ sơ mẫu số" in page
        finally:
            await web.close()
    kit.run(body())

"""The central web in a real browser (Debian's chromium + chromium-driver, Selenium): log in, the
overview of several stations, a filter, a commune page, search without diacritics, a PDF, a secret
record refused to a viewer and that refusal in the audit trail, an archivist's export. Screenshots of
each step go to docs/central-web-*.png."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import pytest

from central.web import audit, heartbeats, records
from sync import heartbeat

DOCS = Path(__file__).resolve().parents[3] / "docs"
STATIONS = (("xa-tan-lap", "Tân Lập", "Cẩm Khê", "Phú Thọ", 0),
            ("xa-son-vi", "Sơn Vi", "Lâm Thao", "Phú Thọ", 0),
            ("xa-dong-xuan", "Đồng Xuân", "Thanh Ba", "Phú Thọ", 30 * 3600),   # silent for 30 h: red
            ("xa-lang-son", "Hoàng Văn Thụ", "Thành phố Lạng Sơn", "Lạng Sơn", 0))


@pytest.fixture
def browser():
    """Headless Chromium from Debian's packages, driven by Selenium (installed by ``make test``)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.set_page_load_timeout(60)
    driver.set_window_size(1280, 900)
    yield driver
    driver.quit()


@pytest.fixture
def running_site(tmp_path, kit, webkit):
    """The receiver and the web served from a thread of their own, with four stations reporting."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    holder = {}

    async def setup():
        site = await webkit.start_site(tmp_path, poll_s=2)
        webkit.add_staff(site.state)
        now = time.time()
        for i, (device, commune, district, province, silent_s) in enumerate(STATIONS):
            if device == "xa-son-vi":  # a real conditional package: sent, ingested, fed to the web (the export)
                holder["package"] = (await webkit.ingest_real(site, tmp_path, ("02",), device_id=device))[0]
            else:
                app = kit.Appliance(tmp_path / device, device_id=device)
                await app.enroll(site.rx)
            heartbeats.set_place(site.state, device, commune=commune, district=district, province=province)
            for day in range(6, -1, -1):
                at = now - silent_s - day * 86400
                report = {"v": 1, "device": device, "seq": int(at * 1000), "sent_at": at, "queue_depth": i,
                          "oldest_unsent_s": 60.0 * i, "pages_today": 100 + 37 * i + 5 * day,
                          "pages_processed_today": 100 + 37 * i, "pages_warned_today": 3 * i,
                          "pages_blank_today": day, "warnings_today": _warnings(day),
                          "held": _held(i, day),
                          "scanner": "ready", "disk_free_bytes": 50 * 2**30, "version": "1.0",
                          "climate": {"rating": "good" if i != 1 else "risk",
                                      "alerts": ["rh_high"] if i == 1 else [],
                                      "t_c": 20.0 + i + day, "rh_pct": 50.0 + 2 * day,
                                      "pi": 80.0 - 8 * day, "mold": 0.01 * (day == 2),
                                      "ratings": {"natural_aging": _rate_pi(80.0 - 8 * day),
                                                  "mold": "risk" if day == 2 else "good"}}}
                heartbeats.record(site.state, heartbeat.Heartbeat(device, report["seq"], at, report), now=at)
        webkit.add_samples(site.state, "xa-tan-lap", pdf_key=webkit.PDF_NAME, store=site.rx.core.store,
                           pdf=_tiny_pdf())
        # A forged report from one station, shown as an event.
        heartbeats.add_event(site.state, "xa-son-vi", "forged_heartbeat", "192.0.2.7")
        site.package = holder["package"]
        holder["site"] = site

    def serve():
        asyncio.set_event_loop(loop)
        loop.run_until_complete(setup())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert ready.wait(120)
    yield holder["site"]
    asyncio.run_coroutine_threadsafe(holder["site"].close(), loop).result(60)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(30)


def _warnings(day: int) -> dict:
    """Pages per warning code on the day *day* days ago: blurred pages every day, dark ones every other day."""
    return {"blur": day + 1} | ({"too_dark": 2} if day % 2 else {})


def _held(i: int, day: int) -> list[dict]:
    return ([{"file_code": f"H0{i}.held{n}", "reason": "needs_confirmation"} for n in range(day % 3)]
            + [{"file_code": f"H0{i}.cover", "reason": "coversheet_damaged"}] * (day == 4))


def _rate_pi(years: float) -> str:
    return "good" if years >= 75 else "ok" if years >= 45 else "risk"


def _tiny_pdf() -> bytes:
    """A one-page PDF with real text, built by hand (offsets computed)."""
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 200] /Contents 4 0 R "
            b"/Resources << /Font << /F1 5 0 R >> >> >>"]
    stream = b"BT /F1 18 Tf 20 100 Td (Quyet dinh so 12) Tj ET"
    objs.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    objs.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    out, offsets = b"%PDF-1.4\n", []
    for n, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return out


def _login(driver, url: str, user: str, password: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(url + "login")
    driver.find_element(By.ID, "user").send_keys(user)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.ID, "login").click()


def _fetch(driver, path: str) -> dict:
    """Fetch *path* from the page (same origin, the session's cookie): status, type and size."""
    return driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch(arguments[0]).then(r => r.arrayBuffer().then(b => done({status: r.status, "
        "type: r.headers.get('Content-Type'), disposition: r.headers.get('Content-Disposition'), size: b.byteLength})))"
        ".catch(e => done({error: String(e)}));", path)


def test_staff_use_the_central_web_in_a_browser(browser, running_site, webkit):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    url = running_site.web_url
    d = browser
    # 1. Login (a wrong password first: refused, in Vietnamese and English).
    _login(d, url, "viewer", "not-the-password")
    message = WebDriverWait(d, 20).until(lambda drv: drv.find_elements(By.ID, "message"))
    assert "Sai tên đăng nhập hoặc mật khẩu" in message[0].text
    d.save_screenshot(str(DOCS / "central-web-1-login.png"))
    _login(d, url, "viewer", webkit.PASSWORD)
    WebDriverWait(d, 20).until(lambda drv: not drv.current_url.endswith("/login"))

    # 2. The overview: every station in one table, the silent one red, totals on top.
    rows = d.find_elements(By.CSS_SELECTOR, "#stations tr[data-device]")
    assert [r.get_attribute("data-device") for r in rows] == sorted(s[0] for s in STATIONS)
    red = d.find_elements(By.CSS_SELECTOR, "#stations tr.red")
    assert [r.get_attribute("data-device") for r in red] == ["xa-dong-xuan"]
    contact = red[0].find_element(By.CSS_SELECTOR, "td.contact")
    assert contact.value_of_css_property("background-color") == "rgba(230, 57, 70, 1)"
    assert "giờ trước" in contact.text or "ngày trước" in contact.text
    # the room's rating and alerts in words, Vietnamese first, not the station's codes
    son_vi = 'tr[data-device="xa-son-vi"] '
    assert d.find_element(By.CSS_SELECTOR, son_vi + "td.climate").text == "Nguy cơ / At risk"
    assert d.find_element(By.CSS_SELECTOR, son_vi + "td.alerts").text == "Độ ẩm cao / Humidity high"
    totals = d.find_element(By.ID, "totals").text
    assert "4 trạm" in totals and "1 trạm mất liên lạc" in totals and "6 lô chờ gửi" in totals
    # the refusal in words, not the code the receiver answered with
    event = d.find_element(By.CSS_SELECTOR, '#events li[data-kind="forged_heartbeat"]').text
    assert "chữ ký sai hoặc mạo danh trạm khác / status report refused" in event and "forged_heartbeat" not in event
    # At 1280 px every column fits: the table is no wider than its box, and the page does not scroll sideways.
    # Each column head is short; its title carries the full label in both languages.
    fit = d.execute_script("const t = document.getElementById('stations'); "
                           "return [t.scrollWidth, t.parentElement.clientWidth, document.documentElement.scrollWidth, "
                           "window.innerWidth];")
    assert fit[0] <= fit[1] and fit[2] <= fit[3], fit
    heads = d.find_elements(By.CSS_SELECTOR, "#stations th abbr")
    assert len(heads) == 11 and heads[3].get_attribute("title") == "Liên lạc cuối / Last contact"
    d.save_screenshot(str(DOCS / "central-web-2-overview.png"))

    # 2b. Live without reload: the silent station reports again; its row turns green, its backlog and the
    # totals change, and the page was not reloaded (a mark set in it survives).
    assert d.find_element(By.ID, "stations").get_attribute("data-poll-s") == "2"
    d.execute_script("window.sohoaMark = 'still here'")
    at = time.time()
    report = {"v": 1, "device": "xa-dong-xuan", "seq": int(at * 1000), "sent_at": at, "queue_depth": 9,
              "pages_today": 5, "pages_processed_today": 5, "climate": {"rating": "good", "alerts": []}}
    heartbeats.record(running_site.state, heartbeat.Heartbeat("xa-dong-xuan", report["seq"], at, report), now=at)
    row = 'tr[data-device="xa-dong-xuan"]'
    WebDriverWait(d, 30).until(lambda drv: drv.find_element(By.CSS_SELECTOR, row + " td.backlog").text == "9")
    assert d.find_element(By.CSS_SELECTOR, row).get_attribute("class") == ""
    assert "0 trạm mất liên lạc" in d.find_element(By.ID, "totals").text
    assert d.execute_script("return window.sohoaMark") == "still here"

    # 3. Filter by province.
    Select(d.find_element(By.ID, "province")).select_by_visible_text("Lạng Sơn")
    d.find_element(By.ID, "apply").click()
    WebDriverWait(d, 20).until(lambda drv: "province=" in drv.current_url)
    rows = d.find_elements(By.CSS_SELECTOR, "#stations tr[data-device]")
    assert [r.get_attribute("data-device") for r in rows] == ["xa-lang-son"]
    assert "1 trạm" in d.find_element(By.ID, "totals").text

    # 4. A commune page: its daily history.
    d.get(url)
    d.find_element(By.LINK_TEXT, "Tân Lập").click()
    WebDriverWait(d, 20).until(lambda drv: "/commune/" in drv.current_url)
    assert d.find_element(By.TAG_NAME, "h1").text == "Tân Lập"
    days = d.find_elements(By.CSS_SELECTOR, "#history tr")[1:]
    assert len(days) == 7 and days[0].find_elements(By.TAG_NAME, "td")[1].text.startswith("100")
    assert d.find_element(By.ID, "climate").text.startswith("Khí hậu kho / Room climate: Tốt / Good")
    # Its charts, inline SVG: a bar per day of the history with its pages; the room temperature a dot per day
    # over the target band (the station default, 15-25 °C), the days above it marked out of band.
    bars = d.find_elements(By.CSS_SELECTOR, "svg#progress rect.pages")
    history_pages = [int(r.find_elements(By.TAG_NAME, "td")[1].text.split()[0]) for r in reversed(days)]
    assert [int(b.get_attribute("data-value")) for b in bars] == history_pages
    band = d.find_element(By.CSS_SELECTOR, "svg#climate-t rect.band")
    assert (band.get_attribute("data-low"), band.get_attribute("data-high")) == ("15", "25")
    dots = d.find_elements(By.CSS_SELECTOR, "svg#climate-t circle.reading")
    assert [float(c.get_attribute("data-value")) for c in dots] == [20.0 + day for day in range(6, -1, -1)]
    assert [c.get_attribute("class") for c in dots].count("reading out") == 1  # 26 °C, six days ago
    assert d.find_elements(By.CSS_SELECTOR, "svg#climate-rh circle.reading")
    d.save_screenshot(str(DOCS / "central-web-3-commune.png"))
    # Preservation ratings: a PI cell and a mould cell per day, coloured as the reports rated them.
    ages = range(6, -1, -1)  # oldest day first, as the charts draw them
    pi_cells = d.find_elements(By.CSS_SELECTOR, 'svg#ratings rect.rating[data-row="pi"]')
    assert [c.get_attribute("data-rating") for c in pi_cells] == [_rate_pi(80.0 - 8 * a) for a in ages]
    assert pi_cells[0].value_of_css_property("fill") == "rgb(230, 57, 70)"  # 32 years: at risk, in red
    mold_cells = d.find_elements(By.CSS_SELECTOR, 'svg#ratings rect.rating[data-row="mold"]')
    assert [c.get_attribute("data-rating") for c in mold_cells] == ["risk" if a == 2 else "good" for a in ages]
    legend = d.find_element(By.CSS_SELECTOR, "svg#ratings + figcaption").text
    assert "Nguy cơ nấm mốc / Mould risk" in legend and "Nguy cơ / At risk" in legend
    first = d.find_elements(By.CSS_SELECTOR, "#ratings-table tr")[-1].text  # oldest day last in the table
    assert "32.0" in first and "Nguy cơ / At risk" in first
    # Quality over time: per day the share of pages with each warning and blank pages (processed: 100 a day).
    share = {series: [float(p.get_attribute("data-value")) for p in
                      d.find_elements(By.CSS_SELECTOR, f'svg#quality circle.point[data-series="{series}"]')]
             for series in ("blur", "too_dark", "blank", "any")}
    assert share["blur"] == [(a + 1) / 100 for a in ages]
    assert share["too_dark"] == [0.02 if a % 2 else 0.0 for a in ages]  # a code not reported: no page had it
    assert share["blank"] == [a / 100 for a in ages] and share["any"] == [0.0] * 7  # station 0 warned none
    legend = d.find_element(By.CSS_SELECTOR, "svg#quality + figcaption").text
    assert "Ảnh bị mờ / Page is blurred" in legend and "Ảnh quá tối / Page too dark" in legend
    dated = [p.get_attribute("data-day")
             for p in d.find_elements(By.CSS_SELECTOR, 'svg#quality circle.point[data-series="blur"]')]

    def day_of(age: int) -> str:
        return dated[6 - age]
    held = d.find_elements(By.CSS_SELECTOR, "svg#held-reasons rect.seg")
    assert sorted((h.get_attribute("data-day"), h.get_attribute("data-series"), int(h.get_attribute("data-value")))
                  for h in held) == sorted(
        [(day_of(a), "needs_confirmation", a % 3) for a in ages if a % 3]
        + [(day_of(4), "coversheet_damaged", 1)])
    rows = d.find_elements(By.CSS_SELECTOR, "#quality-table tr[data-day]")
    assert len(rows) == 7 and rows[-1].get_attribute("data-day") == day_of(6)
    assert "Tờ bìa hồ sơ không đọc được / Cover sheet unreadable: 1" in rows[4].text  # four days ago
    d.execute_script("document.getElementById('ratings').scrollIntoView()")
    d.save_screenshot(str(DOCS / "central-web-3b-commune-ratings.png"))
    d.execute_script("document.getElementById('quality-title').scrollIntoView()")
    d.save_screenshot(str(DOCS / "central-web-3c-commune-quality.png"))

    # 5. Search without diacritics finds the Quyết định; the secret record file shows as restricted.
    d.get(url + "search")
    d.find_element(By.ID, "q").send_keys("quyet dinh")
    d.find_element(By.ID, "go").click()
    WebDriverWait(d, 20).until(lambda drv: "q=quyet" in drv.current_url)
    results = d.find_elements(By.CSS_SELECTOR, "#results tr")[1:]
    assert len(results) == 1 and "Quyết định về việc cấp giấy" in results[0].text
    d.save_screenshot(str(DOCS / "central-web-4-search.png"))

    # 6. The record file page and its PDF, opened in the browser.
    results[0].find_element(By.TAG_NAME, "a").click()
    WebDriverWait(d, 20).until(lambda drv: "/record/" in drv.current_url)
    assert "H01.001.2024.001" in d.find_element(By.ID, "meta").text
    assert "93%" in d.find_element(By.ID, "docs").text  # a value's confidence
    assert not d.find_elements(By.ID, "export")  # a viewer exports nothing
    pdf_href = d.find_element(By.CSS_SELECTOR, "a.pdf").get_attribute("href")
    got = _fetch(d, pdf_href)
    assert got["status"] == 200 and got["type"] == "application/pdf" and got["disposition"].startswith("inline")
    d.save_screenshot(str(DOCS / "central-web-5-record.png"))

    # 7. A secret record file, as a viewer: refused, and the refusal is in the audit trail.
    d.get(url + "record/H01.001.2024.003")
    body = d.find_element(By.TAG_NAME, "body").text
    assert "không được xem nội dung" in body and "an ninh" not in body
    d.save_screenshot(str(DOCS / "central-web-6-secret-refused.png"))
    refused = audit.entries(running_site.state, action="view_refused")
    assert refused[0]["actor"] == "viewer" and refused[0]["target"] == "H01.001.2024.003"

    # 7b. Search with filters through the form: a type and a date range, no words. Beside the sample decision
    # (2024-01-05), a decision of 2023 and a report of January 2024 that the filters must leave out.
    for code, title, kind, start in (("H01.001.2023.010", "Quyết định khen thưởng", "02", "2023-06-01"),
                                     ("H01.001.2024.011", "Báo cáo an toàn giao thông", "14", "2024-01-10")):
        records.add_record(running_site.state, file_code=code, device_id="xa-tan-lap", mode="01", title=title,
                           fields={"doc_type": kind, "issuer": "Công an xã Tân Lập", "start_date": start},
                           documents=[], pages=1)
    d.get(url + "search")
    assert d.find_element(By.ID, "hint").text.startswith("Nhập từ khóa")
    Select(d.find_element(By.ID, "type")).select_by_value("02")
    # The date fields as the browser's own picker fills them (their typed form depends on the locale).
    for field, value in (("since", "2024-01-01"), ("until", "2024-01-31")):
        d.execute_script("arguments[0].value = arguments[1]", d.find_element(By.ID, field), value)
    d.find_element(By.ID, "go").click()
    WebDriverWait(d, 20).until(lambda drv: "since=2024-01-01" in drv.current_url)
    results = d.find_elements(By.CSS_SELECTOR, "#results tr")[1:]
    assert [r.find_element(By.TAG_NAME, "a").text for r in results] == ["H01.001.2024.001"]
    assert "Quyết định về việc cấp giấy" in results[0].text and "02 Quyết định" in results[0].text
    assert d.find_element(By.ID, "total").text == "1 kết quả / 1 results"
    assert Select(d.find_element(By.ID, "type")).first_selected_option.get_attribute("value") == "02"
    assert [d.find_element(By.ID, f).get_attribute("value") for f in ("since", "until")] == ["2024-01-01",
                                                                                           "2024-01-31"]
    active = d.find_element(By.ID, "active").text
    assert "Đang lọc / Filtered by" in active and "02 Quyết định" in active and "2024-01-31" in active
    # A viewer is offered the conditional and secret modes by code and counts only.
    modes = [o.text for o in Select(d.find_element(By.ID, "mode")).options]
    assert modes[2].endswith("02 conditional: code and counts only") and "03 secret: code" in modes[3]
    fit = d.execute_script("const t = document.getElementById('results'); "
                           "return [document.documentElement.scrollWidth, window.innerWidth, "
                           "document.getElementById('search-form').getBoundingClientRect().height, "
                           "t.scrollWidth, t.parentElement.clientWidth];")
    # At 1280 px the form is two rows at most and the results fit their box: nothing scrolls sideways.
    assert fit[0] <= fit[1] and fit[2] < 120 and fit[3] <= fit[4], fit
    d.save_screenshot(str(DOCS / "central-web-4b-search-filters.png"))
    # Dates the wrong way round: a message in both languages, the dates kept to be mended.
    for field, value in (("since", "2024-02-01"), ("until", "2024-01-31")):
        d.execute_script("arguments[0].value = arguments[1]", d.find_element(By.ID, field), value)
    d.find_element(By.ID, "go").click()
    WebDriverWait(d, 20).until(lambda drv: drv.find_elements(By.ID, "problem"))
    assert d.find_element(By.ID, "problem").text == (
        "Từ ngày 2024-02-01 sau đến ngày 2024-01-31: hãy đổi lại / From 2024-02-01 is after to 2024-01-31: swap them")
    assert d.find_element(By.ID, "since").get_attribute("value") == "2024-02-01"
    d.find_element(By.ID, "clear").click()
    WebDriverWait(d, 20).until(lambda drv: drv.current_url.endswith("/search"))
    assert d.find_element(By.ID, "since").get_attribute("value") == "" and not d.find_elements(By.ID, "results")

    # 8. An archivist: sees the refusal in the trail, exports a record file.
    d.find_element(By.ID, "logout").click()
    WebDriverWait(d, 20).until(lambda drv: drv.current_url.endswith("/login"))
    _login(d, url, "archivist", webkit.PASSWORD)
    WebDriverWait(d, 20).until(lambda drv: not drv.current_url.endswith("/login"))
    d.get(url + "audit")
    assert "Chuỗi băm nguyên vẹn" in d.find_element(By.ID, "chain").text
    actions = [c.text for c in d.find_elements(By.CSS_SELECTOR, "#audit td.action")]
    assert "view_refused" in actions and "login" in actions
    d.save_screenshot(str(DOCS / "central-web-7-audit.png"))
    package = running_site.package
    d.get(url + "record/" + package.file_code)
    # Each extracted value with the confidence its station gave it (formats 6.7): the subject below its
    # threshold, confirmed by a technician; the type above its threshold, not marked.
    subject = d.find_element(By.CSS_SELECTOR, '#docs tr.field[data-field="subject"]')
    assert "conf-reviewed" in subject.get_attribute("class") and "62%" in subject.text
    assert "kỹ thuật viên đã xác nhận" in subject.text
    kind = d.find_element(By.CSS_SELECTOR, '#docs tr.field[data-field="type_name"]')
    assert "97%" in kind.text and "conf-" not in kind.get_attribute("class")
    assert float(kind.find_element(By.CSS_SELECTOR, ".conf").get_attribute("data-confidence")) == 0.97
    d.execute_script("document.getElementById('docs').scrollIntoView()")
    d.save_screenshot(str(DOCS / "central-web-7b-record-confidences.png"))
    export = d.find_element(By.ID, "export").get_attribute("href")
    got = _fetch(d, export)
    assert got["status"] == 200 and got["type"] == "application/zip"
    assert got["disposition"] == f'attachment; filename="{package.member}"' and got["size"] == len(package.data)
    assert audit.entries(running_site.state, action="export")[0]["target"] == package.file_code
    # The monthly report as a PDF, from the link in the page's header.
    report = d.find_element(By.LINK_TEXT, "Báo cáo tháng (PDF) / Monthly report (PDF)").get_attribute("href")
    got = _fetch(d, report)
    assert got["status"] == 200 and got["type"] == "application/pdf" and got["size"] > 1000

    # 9. On a phone: the overview fits the screen's width (the table scrolls inside its box).
    d.set_window_size(412, 915)
    d.get(url)
    width = d.execute_script("return document.documentElement.scrollWidth")
    assert width <= 412 + 1
    # The table scrolls inside its box there (its cells unwrapped, each row one line high), the commune column
    # staying in view.
    first = d.find_element(By.CSS_SELECTOR, "#stations td")
    assert first.value_of_css_property("position") == "sticky"
    box = d.execute_script("const t = document.getElementById('stations'); "
                           "return [t.scrollWidth, t.parentElement.clientWidth, t.rows[1].offsetHeight, "
                           "t.rows[1].cells[0].scrollHeight];")
    assert box[0] > box[1] and box[2] < 3 * 16, box
    d.execute_script("document.getElementById('stations').scrollIntoView()")
    d.save_screenshot(str(DOCS / "central-web-8-phone.png"))
    # The search form on a phone: a field a row as wide as the screen, the two dates side by side, the results
    # scrolling in their box.
    d.get(url + "search?type=02&since=2024-01-01&until=2024-01-31")
    width = d.execute_script("return document.documentElement.scrollWidth")
    assert width <= 412 + 1
    q, kind, since, until = (d.find_element(By.ID, f).rect for f in ("q", "type", "since", "until"))
    assert q["width"] > 300 and kind["width"] > 300 and q["y"] < kind["y"] < since["y"], (q, kind, since)
    assert since["y"] == until["y"] and min(since["width"], until["width"]) > 140, (since, until)
    assert len(d.find_elements(By.CSS_SELECTOR, "#results tr")) == 2
    d.save_screenshot(str(DOCS / "central-web-8b-search-phone.png"))

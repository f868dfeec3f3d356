"""Page review on the status page in a real browser (headless Chromium through Selenium).

A whole station runs: SANE's test scanner feeds ten sheets, the imaging pipeline makes the pages
and their previews, the records task holds the pages (no cover sheet) for a technician. The
operator, signed in with a PIN, presses Scan, follows the job to its end, sees every page as a
thumbnail with its flags, opens the larger view with the crop drawn and removes a page; the
technician confirms the held record file from the page, and the package leaves without the page.
A station whose scanner cannot be opened shows Scan disabled with the reason. Screenshots go to
docs/ (the README shows them).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from firmware_agent.agent import Agent
from firmware_agent.config import load_config
from firmware_agent.records import samples
from firmware_agent.records.store import RecordStore
from sync.passwords import hash_password
from firmware_agent.wiring import optional_sources

PASSWORD = "technician password"
PIN = "246810"
DOCS = Path(__file__).resolve().parents[2] / "docs"


def station_config(state: Path, device: str = "test:1", records: bool = True):
    return load_config(None, {
        "agent": {"state_dir": str(state), "min_free_mb": 10},
        "hotfolder": {"path": str(state.parent / "inbox"), "settle_s": 0.2},
        "scanner": {"device": device, "test_picture": "Grid", "poll_ms": 50, "width_mm": 60.0,
                    "height_mm": 80.0, "reopen_s": 0.5,
                    "profiles": {"default": {"resolution": 200, "mode": "color"}}},
        "web": {"port": 0, "password_hash": hash_password(PASSWORD), "operator_pin_hash": hash_password(PIN)},
        "batch": {"max_age_s": 0.0},
        "records": {"enabled": records, "close_after_s": 1.0, "ocr_workers": 1, "hold_low_confidence": False},
    })


def run_station(cfg, scenario, *args) -> None:
    async def main():
        agent = Agent(cfg)
        agent.sources.extend(optional_sources(cfg, agent))
        await agent.start()
        try:
            await asyncio.to_thread(scenario, agent, agent.address.rstrip("/"), *args)
        finally:
            await agent.stop()

    asyncio.run(main())


def log_in(driver, wait, station: str, secret: str, who: str) -> None:
    driver.get(station + "/login?next=/")
    wait.until(ec.presence_of_element_located((By.NAME, "password"))).send_keys(secret)
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "who"), who))


def test_an_operator_reviews_the_pages_and_a_technician_confirms_the_held_file(tmp_path, browser):
    run_station(station_config(tmp_path / "state"), review_scenario, browser)


def review_scenario(agent, station: str, driver) -> None:
    wait = WebDriverWait(driver, 120)
    driver.set_window_size(1280, 1000)
    log_in(driver, wait, station, PIN, "Người vận hành / Operator")
    scan = wait.until(ec.element_to_be_clickable((By.ID, "scan")))
    scan.click()
    # The press is followed to the job's end: its number, its pages, its state.
    wait.until(ec.text_to_be_present_in_element((By.ID, "action-result"), ": Xong · "))
    result = driver.find_element(By.ID, "action-result").text
    job = agent.journal.recent_jobs()[0]
    assert job.trigger == "web" and job.pages == 10
    assert f"Lượt {job.id}: Xong · 10 trang / Job {job.id}: Done · 10 pages" in result

    # Every page as a thumbnail, each with its flags, once the pages are processed.
    def all_thumbnails(d):
        imgs = d.find_elements(By.CSS_SELECTOR, "#pages figure.page img")
        return len(imgs) == 10 and all(d.execute_script("return arguments[0].naturalWidth", i) > 0 for i in imgs)
    wait.until(all_thumbnails)
    figures = driver.find_elements(By.CSS_SELECTOR, "#pages figure.page")
    assert [f.get_attribute("data-seq") for f in figures] == [str(n) for n in range(1, 11)]
    flags = [[li.get_attribute("data-flag") for li in f.find_elements(By.CSS_SELECTOR, "li[data-flag]")]
             for f in figures]
    analyses = [p.analysis for p in (agent.journal.page(i) for i in page_ids(agent, job.id))]
    for got, analysis in zip(flags, analyses):
        expected = {w["code"] for w in analysis["warnings"]} | ({"blank"} if analysis["blank"] else set())
        assert set(got) == expected, (got, analysis["warnings"])
    # SANE's test pattern (large black squares) is content, not a blank page
    assert not any(a["blank"] for a in analyses)
    for f, got in zip(figures, flags):
        # a page's role is not said again when a flag says it ("blank" once, not twice)
        roles = [r.get_attribute("data-role") for r in f.find_elements(By.CSS_SELECTOR, "span[data-role]")]
        assert not set(roles) & set(got), (roles, got)
    DOCS.mkdir(exist_ok=True)
    driver.save_screenshot(str(DOCS / "station-pages.png"))

    # SANE's test pattern is content: the scanned pages make a record file of their own (no
    # cover sheet), held before the copier's pages arrive so that those do not join it.
    scanned, store = set(page_ids(agent, job.id)), RecordStore(agent.journal)
    def scanner_file_held():
        return any(scanned <= {p[0] for p in store.pages_of(f.id)} for f in store.files("held"))
    end = time.monotonic() + 120
    while time.monotonic() < end and not scanner_file_held():
        time.sleep(0.2)
    assert scanner_file_held()

    # A copier drops three pages without a cover sheet: they are held for the technician.
    drop_pdf(Path(agent.cfg.hotfolder.path), "scan0001.pdf", [samples.render_page(spec, dpi=150)
                                                             for spec in samples.SPECS[:3]])
    driver.find_element(By.CSS_SELECTOR, "#job-kinds button[data-kind=hotfolder]").click()
    def hot_job(d):
        rows = [r for r in d.find_elements(By.CSS_SELECTOR, "#jobs tr[data-job]") if "scan0001.pdf" in r.text]
        return int(rows[0].get_attribute("data-job")) if rows else None
    hot = WebDriverWait(driver, 120, ignored_exceptions=(StaleElementReferenceException,)).until(hot_job)
    def three_thumbnails(d):
        d.find_element(By.CSS_SELECTOR, f"#jobs tr[data-job='{hot}']").click()
        imgs = d.find_elements(By.CSS_SELECTOR, "#pages figure.page img")
        return len(imgs) == 3 and all(d.execute_script("return arguments[0].naturalWidth", i) > 0 for i in imgs)
    # the click re-renders the pages while they are read: a stale element only means "look again"
    WebDriverWait(driver, 120, ignored_exceptions=(StaleElementReferenceException,)).until(three_thumbnails)

    # The larger view: a document page as scanned, with the sheet and content boxes drawn on it.
    driver.find_elements(By.CSS_SELECTOR, "#pages figure.page")[0].find_element(By.TAG_NAME, "img").click()
    wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, "#view polygon.crop")))
    points = driver.find_element(By.CSS_SELECTOR, "#view polygon.crop").get_attribute("points").split()
    assert len(points) == 4
    assert len(driver.find_element(By.CSS_SELECTOR, "#view polygon.content").get_attribute("points").split()) == 4
    driver.save_screenshot(str(DOCS / "station-page-view.png"))
    driver.find_element(By.ID, "view-close").click()

    # The operator removes its page 2; the page says so, the journal has it.
    second = page_ids(agent, hot)[1]
    def removed(d):
        # "not yet" while the records task is still placing the page (a second); then the operator presses again
        d.find_element(By.CSS_SELECTOR, f"#page-{second} button[data-mark=remove]").click()
        time.sleep(0.5)
        return f"Đã bỏ trang 2 của lượt {hot}" in d.find_element(By.ID, "mark-result").text
    WebDriverWait(driver, 60, ignored_exceptions=(Exception,)).until(removed)
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, f"#page-{second}.marked")))
    assert tuple(agent.journal.read("SELECT mark, role FROM page_marks WHERE page_id=?", (second,))[0]) == (
        "remove", "operator")

    # The technician: the held record file with its reason and next step, confirmed from the page.
    store = RecordStore(agent.journal)
    end = time.monotonic() + 240
    while time.monotonic() < end and not [f for f in store.files("held") if second in
                                          [p[0] for p in store.pages_of(f.id)]]:
        time.sleep(0.2)
    (held,) = [f for f in store.files("held") if second in [p[0] for p in store.pages_of(f.id)]]
    assert held.hold_code == "no_coversheet"
    driver.find_element(By.ID, "logout").click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "who"), "Đăng nhập / Log in"))
    log_in(driver, wait, station, PASSWORD, "Kỹ thuật viên / Technician")
    wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, f"#held-{held.id} input[name=file_code]")))
    card = driver.find_element(By.ID, f"held-{held.id}")
    assert "Các trang không có tờ bìa phía trước" in card.text
    assert "Kỹ thuật viên: nhập mã hồ sơ và tiêu đề" in card.text  # the next step, and whose it is
    for name, value in (("file_code", "H49.64.33.2026.501"), ("paper_file_code", "H49.1.2.501"),
                        ("title", "Hồ sơ quét thử")):
        field = card.find_element(By.NAME, name)
        field.clear()
        field.send_keys(value)
    driver.execute_script("arguments[0].scrollIntoView()", card)
    driver.save_screenshot(str(DOCS / "station-held.png"))
    card.find_element(By.CSS_SELECTOR, "button[name=confirm]").click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "records-result"), f"Hồ sơ #{held.id} đã xác nhận"))
    while time.monotonic() < end and store.file(held.id).state != "packaged":
        time.sleep(0.2)
    done = store.file(held.id)
    assert done.state == "packaged" and done.file_code == "H49.64.33.2026.501"
    roles = {pid: role for pid, role, _doc in store.pages_of(held.id)}
    assert roles[second] == "removed" and list(roles.values()).count("content") == 2
    (pages,) = agent.journal.read("SELECT pages FROM batch_members WHERE name=?", (done.package,))[0]
    assert pages == 2  # the package left without the removed page

    # "Details" reads as labelled values, not raw JSON, and stays open across the page's polls.
    # the section is rebuilt every second: a click that lands on the replaced element is made again
    WebDriverWait(driver, 30, ignored_exceptions=(StaleElementReferenceException,)).until(
        lambda d: d.find_element(By.CSS_SELECTOR, "#sources details[data-key=records] summary").click() or True)
    time.sleep(2.5)
    # read in one script call: the section may be rebuilt between two WebDriver calls
    is_open, text, tables = driver.execute_script(
        "const d = document.querySelector('#sources details[data-key=records]');"
        "return [d.open, d.innerText, d.querySelectorAll('table.kv').length];")
    assert is_open
    assert "ocr backlog" in text and '{"' not in text and '":' not in text
    assert tables

    # A 7-inch touch screen and a phone: the page never scrolls sideways.
    for size in ((800, 480), (390, 844)):
        driver.set_window_size(*size)
        driver.find_element(By.CSS_SELECTOR, "#job-kinds button[data-kind=scanner]").click()
        wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "#pages figure.page img")))
        width = driver.execute_script("return document.documentElement.clientWidth")
        assert driver.execute_script("return document.documentElement.scrollWidth") <= width, size
    driver.save_screenshot(str(DOCS / "station-phone.png"))


def drop_pdf(inbox: Path, name: str, pages) -> None:
    """As a copier does: written under a hidden name, then renamed into the folder."""
    inbox.mkdir(parents=True, exist_ok=True)
    tmp = inbox / f".{name}.part"
    pages[0].save(tmp, format="PDF", save_all=True, append_images=pages[1:], resolution=150.0)
    tmp.rename(inbox / name)


def page_ids(agent, job_id: int) -> list[int]:
    return [r[0] for r in agent.journal.read("SELECT id FROM pages WHERE job_id=? ORDER BY seq", (job_id,))]


def test_scan_is_disabled_with_the_reason_while_no_scanner_is_ready(tmp_path, browser):
    run_station(station_config(tmp_path / "state", device="test:nosuch", records=False), no_scanner_scenario,
                browser)


def no_scanner_scenario(agent, station: str, driver) -> None:
    wait = WebDriverWait(driver, 60)
    driver.set_window_size(800, 900)
    log_in(driver, wait, station, PIN, "Người vận hành / Operator")
    wait.until(ec.text_to_be_present_in_element((By.ID, "scan-reason"), "Chưa quét được: máy quét chưa sẵn sàng"))
    assert not driver.find_element(By.ID, "scan").is_enabled()
    reason = driver.find_element(By.ID, "scan-reason").text
    # the scanner's own state line, and what to do
    assert "Không thấy máy quét / Scanner not found (unplugged?)" in reason
    assert "Kiểm tra cáp và bật máy quét" in reason
    driver.save_screenshot(str(DOCS / "station-no-scanner.png"))
    # A press that reaches the server anyway (a stale page, a script) is refused with the reason, not 202.
    answer = driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        fetch("/api/session").then((r) => r.json()).then((s) => fetch("/api/scan", {method: "POST",
            headers: {"X-CSRF-Token": s.csrf_token, "Content-Type": "application/json"}, body: "{}"}))
          .then(async (r) => done([r.status, await r.json()]));""")
    assert answer[0] == 409 and answer[1]["ok"] is False
    assert answer[1]["message"]["code"] == "scan.unavailable"
    assert agent.journal.recent_jobs() == []


def test_a_technician_moves_separators_while_the_record_file_is_held(tmp_path, browser):
    run_station(station_config(tmp_path / "state"), separator_scenario, browser)


def separator_scenario(agent, station: str, driver) -> None:
    wait = WebDriverWait(driver, 120)
    driver.set_window_size(1280, 1000)
    store = RecordStore(agent.journal)
    log_in(driver, wait, station, PASSWORD, "Kỹ thuật viên / Technician")
    drop_pdf(Path(agent.cfg.hotfolder.path), "scan0002.pdf", [samples.render_page(spec, dpi=150)
                                                             for spec in samples.SPECS[:4]])
    driver.find_element(By.CSS_SELECTOR, "#job-kinds button[data-kind=hotfolder]").click()
    row = wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "#jobs tr[data-job]")))
    hot = int(row.get_attribute("data-job"))
    ids = []
    end = time.monotonic() + 240
    while time.monotonic() < end and not (len(ids) == 4 and held_with(store, ids[0])):
        ids = page_ids(agent, hot)
        time.sleep(0.2)
    held = held_with(store, ids[0])
    assert held.hold_code == "no_coversheet" and [d for _p, _r, d in store.pages_of(held.id)] == [1, 1, 1, 1]

    def press(page_id: int, starts: str, expect: str):
        def pressed(d):
            d.find_element(By.CSS_SELECTOR, f"#jobs tr[data-job='{hot}']").click()
            time.sleep(0.3)
            d.find_element(By.CSS_SELECTOR, f"#page-{page_id} button[data-starts={starts}]").click()
            time.sleep(0.5)
            return expect in d.find_element(By.ID, "mark-result").text
        WebDriverWait(driver, 60, ignored_exceptions=(Exception,)).until(pressed)

    # Page 3 starts a second document: one transaction, and the held record file's documents are rebuilt.
    press(ids[2], "document", f"Trang 3 của lượt {hot} giờ bắt đầu một văn bản mới trong hồ sơ #{held.id}")
    assert [d for _p, _r, d in store.pages_of(held.id)] == [1, 1, 2, 2]
    while time.monotonic() < end and not (store.file(held.id).state == "held" and len(store.docs(held.id)) == 2):
        time.sleep(0.2)
    assert store.file(held.id).hold_code == "no_coversheet" and [d["seq"] for d in store.docs(held.id)] == [1, 2]

    # Page 4 starts a record file of its own, held for the technician's fields.
    press(ids[3], "file", f"Trang 4 của lượt {hot} giờ bắt đầu hồ sơ mới #")
    assert [p for p, _r, _d in store.pages_of(held.id)] == ids[:3]
    (split,) = [f for f in store.files() if f.id != held.id and ids[3] in [p for p, _r, _d in store.pages_of(f.id)]]
    while time.monotonic() < end and store.file(split.id).state != "held":
        time.sleep(0.2)
    assert store.file(split.id).hold_code == "separator_moved"
    wait.until(ec.presence_of_element_located((By.ID, f"held-{split.id}")))
    assert "Kỹ thuật viên: nhập mã hồ sơ và tiêu đề" in driver.find_element(By.ID, f"held-{split.id}").text
    driver.save_screenshot(str(DOCS / "station-separator.png"))

    # Once packaged, the record file's boundaries are the archive's: 409 with the reason.
    card = driver.find_element(By.ID, f"held-{held.id}")
    for name, value in (("file_code", "H49.64.33.2026.502"), ("paper_file_code", "H49.1.2.502"), ("title", "T")):
        card.find_element(By.NAME, name).clear()
        card.find_element(By.NAME, name).send_keys(value)
    card.find_element(By.CSS_SELECTOR, "button[name=confirm]").click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "records-result"), f"Hồ sơ #{held.id} đã xác nhận"))
    while time.monotonic() < end and store.file(held.id).state != "packaged":
        time.sleep(0.2)
    answer = driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        fetch("/api/session").then((r) => r.json()).then((s) => fetch("/api/pages/" + arguments[0] + "/separator",
            {method: "POST", headers: {"X-CSRF-Token": s.csrf_token, "Content-Type": "application/json"},
             body: JSON.stringify({starts: "document"})})).then(async (r) => done([r.status, await r.json()]));""",
                                         ids[1])
    assert answer[0] == 409 and answer[1]["message"]["code"] == "page.separator.too_late"
    assert [d for _p, _r, d in store.pages_of(held.id)] == [1, 1, 2]


def held_with(store, page_id: int):
    found = [f for f in store.files("held") if page_id in [p[0] for p in store.pages_of(f.id)]]
    return found[0] if found else None


def test_the_page_takes_its_words_from_the_catalogue_and_shows_codes_without_it(tmp_path, browser):
    run_station(station_config(tmp_path / "state", device="test:nosuch", records=False), catalogue_scenario,
                browser)


def catalogue_scenario(agent, station: str, driver) -> None:
    from firmware_agent.messages import CATALOGUE

    wait = WebDriverWait(driver, 60)
    driver.set_window_size(800, 900)
    driver.get(station + "/")
    head = CATALOGUE["status.review.col_state"]
    wait.until(ec.text_to_be_present_in_element((By.ID, "jobs"), f"{head.vi} / {head.en}"))
    assert "status.review." not in driver.find_element(By.TAG_NAME, "main").text
    # /api/messages unreachable: every label shows its code, and the page still shows the station's state.
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["*/api/messages*"]})
    driver.get(station + "/")
    wait.until(ec.text_to_be_present_in_element((By.ID, "jobs"), "status.review.col_state"))
    wait.until(ec.text_to_be_present_in_element((By.ID, "scan-reason"), "Chưa quét được"))
    assert driver.find_element(By.CSS_SELECTOR, "#jobs code").text == "status.review.col_state"
    assert not driver.find_element(By.ID, "scan").is_enabled()
    driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": []})

"""The status page in a real browser (headless Chromium through Selenium): log in, scan, log out,
and a page from another origin on the same machine trying to start a scan with the browser's cookie.

127.0.0.1 on another port is the same *site* as the station, so Chromium sends the
SameSite=Strict cookie along: only the Origin check stands between that page and a scan.
"""

from __future__ import annotations

import asyncio
import time

from aiohttp import web
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from firmware_agent.agent import Agent
from firmware_agent.config import load_config
from sync.passwords import hash_password
from firmware_agent.wiring import optional_sources

PASSWORD = "technician password"

FORGER = """<!doctype html><html><body>
<form id="f" method="post" action="{station}/api/scan" enctype="text/plain"><input name="x" value="1"></form>
<script>
fetch("{station}/api/scan", {{method: "POST", mode: "no-cors", credentials: "include",
                             headers: {{"Content-Type": "text/plain"}}, body: "{{}}"}})
  .finally(() => {{ document.title = "sent"; document.getElementById("f").submit(); }});
</script></body></html>"""


def test_log_in_scan_and_log_out_while_a_forged_post_is_refused(tmp_path, browser):
    cfg = load_config(None, {
        "agent": {"state_dir": str(tmp_path / "state"), "min_free_mb": 10},
        "scanner": {"device": "test:1", "test_picture": "Grid", "poll_ms": 50, "width_mm": 60.0, "height_mm": 80.0,
                    "profiles": {"default": {"resolution": 200, "mode": "gray"}}},
        "web": {"port": 0, "password_hash": hash_password(PASSWORD)},
        "batch": {"max_age_s": 0.0},
        "records": {"enabled": False},
    })

    async def main():
        agent = Agent(cfg)
        agent.sources.extend(optional_sources(cfg, agent))
        await agent.start()
        station = agent.address.rstrip("/")
        async def forging_page(_request):
            return web.Response(text=FORGER.format(station=station), content_type="text/html")

        forger = web.Application()
        forger.router.add_get("/", forging_page)
        runner = web.AppRunner(forger)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        elsewhere = f"http://127.0.0.1:{runner.addresses[0][1]}/"
        try:
            await asyncio.to_thread(scenario, browser, agent, station, elsewhere)
        finally:
            await runner.cleanup()
            await agent.stop()

    asyncio.run(main())


def scenario(driver, agent, station: str, elsewhere: str) -> None:
    wait = WebDriverWait(driver, 60)
    driver.get(station + "/")
    wait.until(ec.element_to_be_clickable((By.LINK_TEXT, "Đăng nhập / Log in"))).click()
    wait.until(ec.url_contains("/login"))
    driver.find_element(By.NAME, "password").send_keys("not it")
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait.until(ec.text_to_be_present_in_element((By.CSS_SELECTOR, ".error"), "Sai mật khẩu / Wrong password"))
    driver.find_element(By.NAME, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "who"), "Kỹ thuật viên / Technician"))
    assert driver.current_url == station + "/"
    assert driver.execute_script("return document.cookie") == ""  # HttpOnly: no script can read it

    # Another origin on this machine, with the browser's session cookie in the jar.
    driver.get(elsewhere)
    wait.until(ec.url_contains("/api/scan"))  # the auto-submitted form landed on the station's answer
    wait.until(ec.text_to_be_present_in_element((By.TAG_NAME, "body"), "Cross-origin request refused"))
    time.sleep(1.0)
    assert agent.journal.recent_jobs() == []

    driver.get(station + "/")
    wait.until(ec.text_to_be_present_in_element((By.ID, "who"), "Kỹ thuật viên / Technician"))
    driver.find_element(By.ID, "scan").click()
    # the press is answered at once, then followed to the job it became
    wait.until(ec.text_to_be_present_in_element((By.ID, "action-result"), "Lượt 1:"))
    end = time.monotonic() + 60
    while time.monotonic() < end and not agent.journal.recent_jobs():
        time.sleep(0.1)
    assert [j.trigger for j in agent.journal.recent_jobs()] == ["web"]

    driver.find_element(By.ID, "logout").click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "who"), "Đăng nhập / Log in"))
    # no session now: the page sends you to the login (Scan is enabled again once the job has ended)
    wait.until(ec.element_to_be_clickable((By.ID, "scan"))).click()
    wait.until(ec.url_contains("/login"))

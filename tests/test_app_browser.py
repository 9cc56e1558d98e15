"""The app in a real browser: `streamlit run app.py` headless, driven by Playwright with Debian's Chromium.

Every page is opened, waited for, screenshot (PNG files under the test's temporary folder,
or under MOBILITY_PLAN_SCREENSHOTS when set), and checked for its title, its map canvas and
the map legend, with no exception box on the page.

Waiting: a cold machine may need minutes for the first run of a page (plans, networks and
travel times are built then cached). So the tests wait for Streamlit's own signals, not for
a fixed time: the server's ``/_stcore/health`` endpoint answers, then the page's ``stApp``
element reports a live connection and a finished script run (``data-test-script-state``).
Every wait shares one generous limit (MOBILITY_PLAN_BROWSER_TIMEOUT_S, default 300 s) and,
when it runs out, fails saying what it waited for, what the page showed and the end of the
server's log. Nothing is retried.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("MOBILITY_PLAN_CHROMIUM", "/usr/bin/chromium")
#: The longest any one wait may take (server start, a page's script run, an element to appear).
TIMEOUT_S = float(os.environ.get("MOBILITY_PLAN_BROWSER_TIMEOUT_S", "300"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--use-gl=swiftshader"]
PAGES = [  # url path, title, has a map, text of the page's last section
    ("", "Overview", False, "2030 by province"),
    ("fleet", "Fleet & demand", True, "Table"),
    ("city", "EV charging (city)", True, "Sites"),
    ("hydrogen", "Hydrogen stations (national)", True, "Flow refuelled by period (%)"),
    ("compare", "Compare scenarios", False, "Maps"),
    ("export", "Export", False, "Layouts from this session"),
]
#: True when the app is connected and its script run has finished (Streamlit's own attributes on stApp).
_IDLE_JS = """() => {
    const app = document.querySelector('[data-testid="stApp"]');
    return app !== null && app.dataset.testConnectionState === 'CONNECTED'
        && app.dataset.testScriptState === 'notRunning';
}"""
_STATE_JS = """() => {
    const app = document.querySelector('[data-testid="stApp"]');
    if (app === null) return 'no stApp element';
    return `connection ${app.dataset.testConnectionState}, script ${app.dataset.testScriptState}`;
}"""


@dataclass
class Server:
    url: str
    log: Path
    process: subprocess.Popen

    def log_tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else "(no log)"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_health(server: Server) -> None:
    """Poll /_stcore/health until it answers 200; fail at once if the server exits."""
    deadline = time.monotonic() + TIMEOUT_S
    last = "no answer yet"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"streamlit exited with code {server.process.returncode} before answering "
                        f"/_stcore/health; its log ends:\n{server.log_tail()}")
        try:
            with urllib.request.urlopen(f"{server.url}/_stcore/health", timeout=5) as reply:
                if reply.status == 200:
                    return
                last = f"HTTP {reply.status}"
        except (urllib.error.URLError, OSError) as exc:
            last = str(getattr(exc, "reason", exc))
        time.sleep(0.5)
    pytest.fail(f"streamlit did not answer {server.url}/_stcore/health within {TIMEOUT_S:.0f} s (last: {last}); "
                f"set MOBILITY_PLAN_BROWSER_TIMEOUT_S to wait longer. Its log ends:\n{server.log_tail()}")


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"Chromium not found at {CHROMIUM}; install it (apt-get install chromium) as .ci/run does, "
                    "or point MOBILITY_PLAN_CHROMIUM at a Chromium binary")
    port = _free_port()
    log = tmp_path_factory.mktemp("streamlit") / "server.log"
    env = {**os.environ, "MOBILITY_PLAN_CACHE_DIR": str(tmp_path_factory.mktemp("cache"))}
    with open(log, "w") as handle:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.headless", "true",
             "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
            cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT, env=env)
    running = Server(url=f"http://127.0.0.1:{port}", log=log, process=process)
    try:
        _wait_for_health(running)
        yield running
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)


def _fail(page: Page, server: Server, what: str, exc: Exception) -> None:
    try:
        state = page.evaluate(_STATE_JS)
    except Exception as inner:  # noqa: BLE001 - the page may be gone; say so
        state = f"page state unavailable ({inner})"
    pytest.fail(f"waited {TIMEOUT_S:.0f} s for {what} on {page.url} ({state}); set MOBILITY_PLAN_BROWSER_TIMEOUT_S "
                f"to wait longer on a slow machine.\nPlaywright: {str(exc).splitlines()[0]}\n"
                f"Server log ends:\n{server.log_tail()}")


def _wait_idle(page: Page, server: Server, what: str) -> None:
    """Wait until the app is connected and no script run is in progress."""
    try:
        page.wait_for_function(_IDLE_JS, timeout=TIMEOUT_S * 1000, polling=250)
    except PlaywrightTimeout as exc:
        _fail(page, server, f"the app to finish running ({what})", exc)


def _wait_visible(page: Page, server: Server, locator, what: str) -> None:
    try:
        locator.wait_for(state="visible", timeout=TIMEOUT_S * 1000)
    except PlaywrightTimeout as exc:
        _fail(page, server, what, exc)


def _open(page: Page, server: Server, path: str, title: str) -> None:
    """Load a page and wait for its script run to end and its title to show."""
    page.goto(f"{server.url}/{path}", wait_until="domcontentloaded", timeout=TIMEOUT_S * 1000)
    _wait_idle(page, server, f"the first run of '{title}'")
    _wait_visible(page, server, page.get_by_role("heading", name=title).first, f"the heading '{title}'")


def _no_exception(page: Page, where: str) -> None:
    boxes = page.locator("[data-testid='stException']")
    assert boxes.count() == 0, f"exception on {where}: {boxes.first.inner_text()[:1000]}"


def _shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("MOBILITY_PLAN_SCREENSHOTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_server_health_wait_fails_with_a_clear_message(tmp_path):
    """The readiness wait must be able to fail: a server that exits is reported with its log, at once."""
    log = tmp_path / "server.log"
    log.write_text("boom: the app could not start\n")
    process = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    process.wait(timeout=30)
    dead = Server(url=f"http://127.0.0.1:{_free_port()}", log=log, process=process)
    started = time.monotonic()
    with pytest.raises(pytest.fail.Exception, match=r"streamlit exited with code 3(.|\n)*boom"):
        _wait_for_health(dead)
    assert time.monotonic() - started < 10


@pytest.mark.slow
def test_every_page_in_chromium(server, tmp_path):
    folder = _shots(tmp_path)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1500, "height": 1100})
        for path, title, has_map, last in PAGES:
            where = path or "overview"
            _open(page, server, path, title)
            _wait_visible(page, server, page.get_by_text(last, exact=True).first,
                          f"the last section '{last}' of '{title}'")
            if has_map:
                _wait_visible(page, server, page.locator("[data-testid='stDeckGlJsonChart'] canvas").first,
                              f"the map canvas of '{title}'")
                legend = page.locator(".mp-legend").first
                _wait_visible(page, server, legend, f"the map legend of '{title}'")
                assert "Legend" in legend.inner_text()
            _no_exception(page, where)
            assert page.get_by_text("Page not found").count() == 0, f"{path} is not a page"
            assert page.get_by_text("Unexpected error").count() == 0, f"the last-resort error on {where}"
            shot = folder / f"{where}.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 10_000
        browser.close()


@pytest.mark.slow
def test_upload_in_the_browser_gives_a_clear_message(server, tmp_path):
    import geopandas as gpd
    from shapely.geometry import Point

    bad = tmp_path / "metres_as_degrees.geojson"
    gpd.GeoDataFrame({"weight": [5.0, 7.0]}, geometry=[Point(955000, 1950000), Point(956000, 1951000)],
                     crs="EPSG:4326").to_file(bad, driver="GeoJSON")
    good = tmp_path / "demand.geojson"
    gpd.GeoDataFrame({"weight": [50.0, 70.0, 20.0]},
                     geometry=[Point(126.978, 37.566), Point(126.990, 37.570), Point(126.970, 37.575)],
                     crs="EPSG:4326").to_file(good, driver="GeoJSON")
    folder = _shots(tmp_path)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1500, "height": 1100})
        _open(page, server, "city", "EV charging (city)")
        page.get_by_text("Upload your own demand layer").click()
        uploader = page.locator("[data-testid='stFileUploaderDropzoneInput']").first
        uploader.set_input_files(str(bad))
        _wait_visible(page, server, page.get_by_text("which are not degrees").first,
                      "the refusal of metres labelled as degrees")
        _wait_idle(page, server, "the run after the bad upload")
        _no_exception(page, "city after a bad upload")
        page.screenshot(path=str(folder / "city_bad_upload.png"), full_page=True)
        uploader.set_input_files(str(good))
        _wait_visible(page, server, page.get_by_text("Demand layer demand.geojson: 3 features").first,
                      "the accepted upload's summary")
        _wait_idle(page, server, "the solve with the uploaded demand")
        _wait_visible(page, server, page.locator(".mp-legend").first, "the map legend after the upload")
        assert page.get_by_text("declared CRS EPSG:4326").count() >= 1
        _no_exception(page, "city after a good upload")
        browser.close()


@pytest.mark.slow
def test_backcast_overview_at_its_own_year(server, tmp_path):
    """The Overview for korea_2022_backcast at 2022: no traceback; a screenshot to look at."""
    folder = _shots(tmp_path)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1500, "height": 1100})
        _open(page, server, "", "Overview")
        page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").first.click()
        page.get_by_role("option", name="korea_2022_backcast").click()
        _wait_visible(page, server, page.get_by_text("Scenario korea_2022_backcast").first,
                      "the Overview of korea_2022_backcast")
        _wait_idle(page, server, "the Overview of korea_2022_backcast")
        slider = page.get_by_test_id("stSidebar").get_by_role("slider").first
        slider.focus()
        page.keyboard.press("Home")  # the slider's first year
        _wait_visible(page, server, page.get_by_text("year 2022 ·").first, "the Overview's caption for 2022")
        _wait_idle(page, server, "the Overview of korea_2022_backcast in 2022")
        _no_exception(page, "Overview korea_2022_backcast 2022")
        assert page.get_by_text("Unexpected error").count() == 0
        page.screenshot(path=str(folder / "overview_korea_2022_backcast_2022.png"), full_page=True)
        browser.close()

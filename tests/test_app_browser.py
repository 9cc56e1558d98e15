"""The app in a real browser: `streamlit run app.py` headless, driven by Playwright with Debian's Chromium.

Every page is opened, waited for, screenshot (PNG files under the test's temporary folder,
or under MOBILITY_PLAN_SCREENSHOTS when set), and checked for its title, its map canvas and
the map legend, with no exception box on the page.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("MOBILITY_PLAN_CHROMIUM", "/usr/bin/chromium")
PAGES = [  # url path, title, has a map, text of the page's last section
    ("", "Overview", False, "2030 by province"),
    ("fleet", "Fleet & demand", True, "Table"),
    ("city", "EV charging (city)", True, "Sites"),
    ("hydrogen", "Hydrogen stations (national)", True, "Flow refuelled by period (%)"),
    ("compare", "Compare scenarios", False, "Maps"),
    ("export", "Export", False, "Layouts from this session"),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
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
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail(f"streamlit did not start: {log.read_text()[-2000:]}")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


def _shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("MOBILITY_PLAN_SCREENSHOTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_every_page_in_chromium(server, tmp_path):
    folder = _shots(tmp_path)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu",
                                                                    "--use-gl=swiftshader"])
        page = browser.new_page(viewport={"width": 1500, "height": 1100})
        for path, title, has_map, last in PAGES:
            page.goto(f"{server}/{path}", wait_until="domcontentloaded")
            page.get_by_role("heading", name=title).first.wait_for(timeout=180_000)
            # the script run has finished when the last section is there and no spinner is left
            page.get_by_text(last, exact=True).first.wait_for(timeout=300_000)
            page.wait_for_function("() => !document.querySelector('[data-testid=\"stSpinner\"]')",
                                   timeout=180_000)
            if has_map:
                page.locator("[data-testid='stDeckGlJsonChart'] canvas").first.wait_for(timeout=60_000)
                legend = page.locator(".mp-legend").first
                legend.wait_for(timeout=30_000)
                assert "Legend" in legend.inner_text()
            page.wait_for_timeout(1500)
            assert page.locator("[data-testid='stException']").count() == 0, f"exception on {path}"
            assert page.get_by_text("Page not found").count() == 0, f"{path} is not a page"
            shot = folder / f"{path or 'overview'}.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 10_000
        browser.close()


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
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1500, "height": 1100})
        page.goto(f"{server}/city", wait_until="domcontentloaded")
        page.get_by_role("heading", name="EV charging (city)").first.wait_for(timeout=180_000)
        page.get_by_text("Upload your own demand layer").click()
        uploader = page.locator("[data-testid='stFileUploaderDropzoneInput']").first
        uploader.set_input_files(str(bad))
        page.get_by_text("outside South Korea").first.wait_for(timeout=60_000)
        assert page.locator("[data-testid='stException']").count() == 0
        page.screenshot(path=str(folder / "city_bad_upload.png"), full_page=True)
        uploader.set_input_files(str(good))
        page.get_by_text("Demand layer demand.geojson: 3 features").first.wait_for(timeout=60_000)
        page.locator(".mp-legend").first.wait_for(timeout=30_000)
        assert page.locator("[data-testid='stException']").count() == 0
        browser.close()

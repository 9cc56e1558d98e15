"""Map tooltips in a real browser (issue #19): hover the city and hydrogen maps in headless Chromium and read
the tooltip deck.gl shows: rendered text, no raw ``<b>`` tags, no literal ``{field}``. Screenshots are kept
(under MOBILITY_PLAN_SCREENSHOTS when set) to look at."""

from __future__ import annotations

import pytest
from playwright.sync_api import sync_playwright

from test_app_browser import CHROMIUM, CHROMIUM_ARGS, _open, _shots, _wait_visible, server  # noqa: F401 - fixture

MAPS = [("city", "EV charging (city)"), ("hydrogen", "Hydrogen stations (national)")]


def _hover_until_tooltip(page, canvas) -> str:
    """Sweep the mouse over the map until deck.gl shows a tooltip; its text ('' when none showed)."""
    box = canvas.bounding_box()
    tooltip = page.locator(".deck-tooltip").first
    for row in range(4, 60):
        for column in range(4, 60):
            page.mouse.move(box["x"] + box["width"] * column / 64, box["y"] + box["height"] * row / 64)
            if tooltip.count() and tooltip.is_visible() and tooltip.inner_text().strip():
                return tooltip.inner_html()
    return ""


@pytest.mark.slow
@pytest.mark.parametrize("path, title", MAPS)
def test_a_hovered_map_shows_a_rendered_tooltip(server, tmp_path, path, title):  # noqa: F811 - fixture
    folder = _shots(tmp_path)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1500, "height": 1100})
        _open(page, server, path, title)
        canvas = page.locator("[data-testid='stDeckGlJsonChart'] canvas").first
        _wait_visible(page, server, canvas, f"the map canvas of '{title}'")
        page.wait_for_timeout(1500)  # the first frame of the layers
        shown = _hover_until_tooltip(page, canvas)
        page.screenshot(path=str(folder / f"{path}_tooltip.png"), full_page=False)
        browser.close()
    assert shown, f"no tooltip showed anywhere over the {path} map"
    assert "&lt;" not in shown and "{" not in shown, shown
    assert "<b>" in shown  # the template's title is bold: the markup rendered

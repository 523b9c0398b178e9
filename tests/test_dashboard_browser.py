"""The dashboard end to end in headless Chromium (Debian's chromium, driven by Playwright; nothing downloads a
browser): load it, search, click a recommendation, check what is shown, save a screenshot."""

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from servers import build_shop
from shoplens.serve.process import ServerProcess
from shoplens.workspace import Workspace

CHROMIUM = os.environ.get("SHOPLENS_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(os.environ.get("SHOPLENS_TEST_ARTIFACTS", Path(__file__).parent.parent / "test-artifacts"))
# As root in a container, without the sandbox; no background traffic to a network this machine does not have.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
                 "--disable-background-networking", "--disable-component-update"]


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    path = tmp_path_factory.mktemp("dashboard") / "ws"
    build_shop(path)
    with Workspace.open(path) as ws:
        items, reviews = ws.table("items"), ws.table("reviews")
    with ServerProcess(path) as server:
        yield server, items, reviews


@pytest.fixture(scope="module")
def page():
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: `make test` installs Debian's chromium"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser.new_page(viewport={"width": 1400, "height": 1800})
        browser.close()


def test_dashboard_search_and_recommendation_click(shop, page):
    server, items, reviews = shop
    page.goto(server.url + "/", timeout=120_000)
    for panel in ("profile", "history", "recommendations", "forecast", "churn"):
        expect(page.locator(f"#{panel}[data-ready='1']")).to_be_visible(timeout=120_000)
    assert page.locator(".panel .error").count() == 0, page.locator(".panel .error").all_inner_texts()

    recommended = page.locator("#recommendation-list a.item")
    expect(recommended).to_have_count(10)
    titles = dict(zip(items["item_id"].astype(str), items["title"]))
    assert recommended.first.inner_text() == titles[recommended.first.get_attribute("data-item")]
    expect(page.locator("#forecast-chart svg path").first).to_be_attached()

    chinese_title = next(t for t in items["title"] if any("\u4e00" <= ch <= "\u9fff" for ch in t))
    query = chinese_title.split("】")[-1][:2]  # two characters of a product name, e.g. 猫干
    page.fill("#query", query)
    page.click("#search-form button")
    results = page.locator("#search-results a.item")
    expect(results.first).to_be_visible(timeout=60_000)
    texts = results.all_inner_texts()
    assert any(query in text for text in texts), texts
    chinese_result = f"#search-results li:nth-child({next(i for i, t in enumerate(texts) if query in t) + 1}) a.item"

    chosen = recommended.first.get_attribute("data-item")
    recommended.first.click()
    expect(page.locator("#product-title")).to_have_text(titles[chosen], timeout=60_000)
    expect(page.locator("#reviews[data-ready='1']")).to_be_visible(timeout=60_000)
    n_reviews = int((reviews["item_id"].astype(str) == chosen).sum())
    expect(page.locator("#reviews")).to_contain_text(f"{n_reviews} reviews" if n_reviews else "has no reviews")
    assert page.locator(".panel .error").count() == 0, page.locator(".panel .error").all_inner_texts()

    # The Chinese search result is drawn with a CJK font (fonts-noto-cjk), not tofu boxes: ask Chromium which
    # platform fonts it actually used for that text.
    fonts = fonts_used(page, chinese_result)
    assert any("Noto Sans CJK" in font for font in fonts), fonts
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
    assert (ARTIFACTS / "dashboard.png").stat().st_size > 10_000


def fonts_used(page, selector: str) -> list[str]:
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument")["root"]["nodeId"]
    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
    return [font["familyName"] for font in cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]]

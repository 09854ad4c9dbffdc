"""The web page at /, end to end in headless Chromium against a server on 127.0.0.1 (uvicorn in a thread).
Screenshots go to $INTENTCROP_ARTIFACTS (default: the temp folder's intentcrop-artifacts/).

Needs Playwright and a Chromium: $INTENTCROP_CHROMIUM, else chromium / chromium-browser / google-chrome on PATH
(.ci/run installs Debian's chromium). Skipped, with the reason, only when none is found."""

import os
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the serve extra (fastapi) is not installed")
uvicorn = pytest.importorskip("uvicorn", reason="the serve extra (uvicorn) is not installed")
playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (the dev extra)")

from intentcrop.serve import create_app  # noqa: E402

SAMPLE = Path(__file__).resolve().parents[2] / "intentcrop" / "data" / "sample.jpg"
ARTIFACTS = Path(os.environ.get("INTENTCROP_ARTIFACTS", Path(tempfile.gettempdir()) / "intentcrop-artifacts"))


def _chromium() -> str | None:
    found = os.environ.get("INTENTCROP_CHROMIUM")
    if found:
        return found
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.fixture(scope="module")
def server():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert srv.started, "the server did not start"
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def browser():
    executable = _chromium()
    if executable is None:
        if os.environ.get("INTENTCROP_REQUIRE_BROWSER"):  # .ci/run: the browser tests must run in CI, not skip
            pytest.fail("INTENTCROP_REQUIRE_BROWSER is set but no Chromium was found (.ci/run installs Debian's)")
        pytest.skip("no Chromium found (set INTENTCROP_CHROMIUM or install Debian's chromium); .ci/run installs it")
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, args=["--no-sandbox", "--disable-gpu"])
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1100, "height": 900}, accept_downloads=True)
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    pg.goto(server + "/")
    yield pg
    context.close()


def _shot(page, name):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_crops_are_drawn_listed_and_downloadable(page):
    page.set_input_files("#image", str(SAMPLE))
    page.wait_for_selector("#viewer:not([hidden])")
    page.fill("#ratio", "16:9,1:1")
    page.fill("#k", "1")
    page.click("#submit")
    page.wait_for_selector("#results li >> nth=1")
    assert page.locator("#results li").count() == 2
    assert page.locator("svg#overlay rect.crop").count() == 2
    first = page.locator("#results li").first.inner_text()
    assert "[16:9]" in first and "score" in first
    assert page.locator("#results .explanation").first.inner_text().strip()
    link = page.locator("a.download").nth(1)
    assert link.get_attribute("download") == "sample_1x1_crop1.jpg"
    with page.expect_download() as info:
        link.click()
    saved = ARTIFACTS / "downloaded_crop.jpg"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    info.value.save_as(saved)
    from PIL import Image

    with Image.open(saved) as img:
        assert img.size[0] == img.size[1]  # the square crop
    page.check("#debug")
    assert page.locator("#debug-image").is_visible()
    _shot(page, "page_crops_debug")
    page.uncheck("#debug")
    assert not page.locator("#debug-image").is_visible()
    _shot(page, "page_crops")


def test_the_method_list_is_the_services(page):
    from intentcrop.pipeline import PIPELINE_CONFIGS

    page.wait_for_selector("#method option >> nth=1", state="attached")
    values = page.eval_on_selector_all("#method option", "els => els.map(e => e.value)")
    assert values == ["", *PIPELINE_CONFIGS]
    page.select_option("#method", "subject")
    assert page.locator("#method option[value=subject]").get_attribute("title").startswith(
        PIPELINE_CONFIGS["subject"]["summary"])


def test_subject_box_drawn_with_the_pointer_is_sent(page):
    page.set_input_files("#image", str(SAMPLE))
    page.wait_for_selector("#viewer:not([hidden])")
    page.click("#draw-subject")
    assert page.get_attribute("#draw-subject", "aria-pressed") == "true"
    box = page.locator("#preview").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.2, box["y"] + box["height"] * 0.3)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.6, steps=5)
    page.mouse.up()
    x1, y1, x2, y2 = (int(v) for v in page.input_value("#subject").split(","))
    assert abs(x1 - 102) <= 4 and abs(y1 - 154) <= 4 and abs(x2 - 256) <= 4 and abs(y2 - 307) <= 4  # 512 px image
    page.fill("#k", "1")
    page.click("#submit")
    page.wait_for_selector("#results li")
    crop = page.locator("svg#overlay rect.crop").first
    cx1, cy1 = float(crop.get_attribute("x")), float(crop.get_attribute("y"))
    cx2, cy2 = cx1 + float(crop.get_attribute("width")), cy1 + float(crop.get_attribute("height"))
    assert cx1 <= x1 + 1 and cy1 <= y1 + 1 and cx2 >= x2 - 1 and cy2 >= y2 - 1  # the subject stays in
    assert "subject" in page.inner_text("#status")
    _shot(page, "page_subject")


def test_keyboard_only(page):
    page.set_input_files("#image", str(SAMPLE))
    page.wait_for_selector("#viewer:not([hidden])")
    page.focus("#ratio")
    page.keyboard.type("4:5")
    page.keyboard.press("Tab")  # to the size field
    page.keyboard.press("Tab")  # to k
    page.keyboard.press("Control+A")
    page.keyboard.type("2")
    page.keyboard.press("Enter")  # submits the form
    page.wait_for_selector("#results li >> nth=1")
    assert page.locator("#results li").count() == 2
    page.keyboard.press("Tab")  # focus moves on through the controls, each reachable
    focused = page.evaluate("document.activeElement.id")
    assert focused in ("method", "submit", "debug")


@pytest.mark.parametrize("case", ["not an image", "model missing", "no image"])
def test_errors_are_shown(page, case, monkeypatch):
    if case == "not an image":
        page.set_input_files("#image", files=[{"name": "notes.jpg", "mimeType": "image/jpeg", "buffer": b"hello"}])
        expected = "not an image"
    elif case == "model missing":
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # the server thread reads it: no hub, no cached model
        page.set_input_files("#image", str(SAMPLE))
        page.fill("#text", "the dog")
        expected = "not available"
    else:
        expected = "Choose or drop an image first"
    page.click("#submit")
    page.wait_for_selector("#error:not([hidden])")
    message = page.inner_text("#error")
    assert expected in message, message
    assert page.locator("#results li").count() == 0
    _shot(page, "page_error_" + case.replace(" ", "_"))


def test_readable_on_a_phone(browser, server):
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                                  has_touch=True)
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(server + "/")
    page.set_input_files("#image", str(SAMPLE))
    page.fill("#k", "1")
    page.click("#submit")
    page.wait_for_selector("#results li")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the screen
    size = page.evaluate("parseFloat(getComputedStyle(document.querySelector('#text')).fontSize)")
    assert size >= 16  # inputs of 16 px and more: readable, and no zoom-on-focus
    _shot(page, "page_phone")
    context.close()

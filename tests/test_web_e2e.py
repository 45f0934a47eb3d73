"""The web app in a real headless Chromium, against a real server and worker.

Debian's Chromium (``make browser`` installs it; Playwright's own download does not work on
these machines), driven by the Python ``playwright`` package. The page is the built
``web/dist`` (``make web``) served by the session's server. With ``SAVE_SCREENSHOTS=1`` the
screenshots go to ``docs/screenshots/`` for the README; otherwise to a temporary directory.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import (
    Browser,
    Dialog,
    Page,
    Request,
    Response,
    Route,
    ViewportSize,
    expect,
    sync_playwright,
)
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.client import Api
from tests.conftest import TEST_MAX_UPLOAD_BYTES
from tests.images import encode, photo
from tests.processes import REPO_ROOT, own_server
from tests.scraping import scrape, value, wait_for
from tests.services import require

CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags Chromium keeps dialling Google, which this
# machine's closed network refuses.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WEB_DIST = REPO_ROOT / "web" / "dist"
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
PHONE: ViewportSize = {"width": 390, "height": 844}
TIMEOUT_MS = 60_000


def scene(width: int, height: int, hue: int) -> bytes:
    """A colourful JPEG, so thumbnails and placeholders are worth looking at."""
    image = Image.new("HSV", (width, height))
    draw = ImageDraw.Draw(image)
    for y in range(height):
        draw.line(
            [(0, y), (width, y)],
            fill=((hue + y * 60 // height) % 256, 170, 120 + y * 120 // height),
        )
    draw.ellipse(
        [width // 3, height // 4, width // 3 + height // 2, height * 3 // 4],
        fill=((hue + 128) % 256, 200, 250),
    )
    return encode(image.convert("RGB"), "JPEG", quality=90)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    require("Chromium", CHROMIUM.exists(), f"{CHROMIUM}; install it with: make browser")
    require("the built web app", (WEB_DIST / "index.html").exists(), "web/dist; run: make web")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    if os.environ.get("SAVE_SCREENSHOTS"):
        target = REPO_ROOT / "docs" / "screenshots"
        target.mkdir(parents=True, exist_ok=True)
        return target
    return tmp_path


def is_upload(request: Request) -> bool:
    """A multipart GraphQL request: the web app sends one per file."""
    content_type = request.headers.get("content-type", "")
    return request.url.endswith("/graphql") and content_type.startswith("multipart/form-data")


def completed_count(page: Page) -> int:
    return int(page.get_by_test_id("stat-completed").inner_text())


def overflow_px(page: Page) -> int:
    """How much wider than the screen the page is laid out; 0 or less when it fits.

    Against the screen's width, not ``window.innerWidth``: on a phone the layout viewport
    grows to fit a page too wide, and ``innerWidth`` with it.
    """
    assert page.viewport_size is not None
    width = int(page.evaluate("document.documentElement.scrollWidth"))
    return width - page.viewport_size["width"]


def test_upload_gallery_and_dashboard_in_a_real_browser(
    browser: Browser, api: Api, screenshots: Path, tmp_path: Path
) -> None:
    page = browser.new_page(viewport=DESKTOP)
    page.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    uploads_sent: list[Request] = []

    def record_upload(request: Request) -> None:
        if is_upload(request):
            uploads_sent.append(request)

    page.on("request", record_upload)

    # Given the dashboard's count of completed images before the upload
    page.goto(f"{api.base_url}/#/dashboard")
    expect(page.get_by_test_id("stat-consumers")).not_to_have_text("0")
    before = completed_count(page)

    # When two photos, a text file and an oversized file are chosen in the gallery's picker
    # (once the page knows the server's limits)
    page.goto(f"{api.base_url}/#/")
    expect(page.get_by_role("button", name=re.compile("Drop images here"))).to_contain_text(
        "each up to 2 MiB and 50 megapixels"
    )
    files = {
        "harbour.jpg": scene(1200, 800, 140),
        "sunset.jpg": scene(900, 1200, 10),
        "notes.txt": b"shopping list: milk, eggs\n",
        "huge.jpg": scene(64, 64, 60) + b"\0" * (TEST_MAX_UPLOAD_BYTES + 1024),
    }
    paths = []
    for name, content in files.items():
        path = tmp_path / name
        path.write_bytes(content)
        paths.append(path)
    page.get_by_test_id("file-input").set_input_files(paths)

    # Then the bad files are refused with a message, and the others go on regardless
    uploads = page.get_by_role("list", name="Uploads")
    expect(uploads.get_by_role("listitem").filter(has_text="notes.txt")).to_contain_text(
        "Rejected: not a supported image"
    )
    expect(uploads.get_by_role("listitem").filter(has_text="huge.jpg")).to_contain_text(
        "Rejected: file is larger than the 2 MiB limit"
    )
    for name in ("harbour.jpg", "sunset.jpg"):
        row = uploads.get_by_role("listitem").filter(has_text=name)
        expect(row).to_contain_text("Done")
        expect(row.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "100")

    # And both thumbnails appear in the gallery without a reload
    grid = page.get_by_role("list", name="Images")
    for name in ("harbour.jpg", "sunset.jpg"):
        thumbnail = grid.get_by_role("img", name=name)
        expect(thumbnail).to_be_visible()
        expect(thumbnail).to_have_attribute("src", re.compile(r"/api/thumbnails/\d+$"))
        page.wait_for_function(
            "img => img.complete && img.naturalWidth > 0", arg=thumbnail.element_handle()
        )
    page.screenshot(path=screenshots / "gallery.png", full_page=True)
    # And the oversized file was refused by the page: one request per file, but none for it
    assert len(uploads_sent) == 3

    # And the detail view lists the renditions
    grid.get_by_role("link", name=re.compile("^harbour.jpg")).click()
    renditions = page.get_by_role("table", name="Renditions")
    expect(renditions).to_contain_text("thumb")
    expect(renditions).to_contain_text("WEBP")
    expect(page.get_by_text("Finished")).to_be_visible()
    page.screenshot(path=screenshots / "detail.png", full_page=True)

    # And the original downloads under its own name, and the page stays
    detail_url = page.url
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the original").click()
    assert download.value.suggested_filename == "harbour.jpg"
    assert download.value.path().read_bytes() == files["harbour.jpg"]
    assert page.url == detail_url

    # And the dashboard counts the two new images
    page.goto(f"{api.base_url}/#/dashboard")
    expect(page.get_by_test_id("stat-completed")).to_have_text(str(before + 2))
    page.screenshot(path=screenshots / "dashboard.png", full_page=True)
    assert errors == []


def test_the_app_works_on_a_phone_and_with_the_keyboard(
    browser: Browser, api: Api, screenshots: Path
) -> None:
    page = browser.new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{api.base_url}/#/")
    expect(page.get_by_role("list", name="Images")).to_be_visible()

    # Nothing is wider than the screen
    assert overflow_px(page) <= 0

    # The drop zone is reached by Tab and opens the file picker from the keyboard
    drop_zone = page.get_by_role("button", name=re.compile("Drop images here"))
    for _ in range(10):
        page.keyboard.press("Tab")
        if drop_zone.evaluate("element => element === document.activeElement"):
            break
    expect(drop_zone).to_be_focused()
    outline = drop_zone.evaluate("element => getComputedStyle(element).outlineStyle")
    assert outline == "solid", "keyboard focus must be visible"
    # (The picker's click is recorded and its dialog prevented: headless Chromium's
    # file-chooser event proved unreliable.)
    picker = page.get_by_test_id("file-input")
    picker.evaluate(
        "input => input.addEventListener('click', event => {"
        " window.pickerOpened = true; event.preventDefault(); })"
    )
    page.keyboard.press("Enter")
    page.wait_for_function("window.pickerOpened === true")
    assert picker.evaluate("input => input.multiple")
    page.screenshot(path=screenshots / "gallery-phone.png", full_page=True)


# A file name as phones make them, made longer: wider than a phone's screen on one line.
LONG_NAME = "WhatsApp Image 2026-11-27 at 19.01.43 (1) from the family chat, Christmas eve.jpeg"


def test_a_small_image_with_a_long_name_fits_a_phone(
    browser: Browser, api: Api, tmp_path: Path
) -> None:
    # Given a phone, and a 300 x 200 photo with a long name chosen in the picker
    page = browser.new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{api.base_url}/#/")
    path = tmp_path / LONG_NAME
    path.write_bytes(scene(300, 200, 170))
    page.get_by_test_id("file-input").set_input_files(path)

    # Then, uploaded, its row cuts the name short, and the page is no wider than the screen
    uploads = page.get_by_role("list", name="Uploads")
    row = uploads.get_by_role("listitem").filter(has_text=LONG_NAME)
    expect(row).to_contain_text("Done")
    card = page.get_by_role("link", name=f"{LONG_NAME}, completed")
    expect(card).to_be_visible()
    assert overflow_px(page) <= 0
    assert row.locator(".upload-name").evaluate("name => name.scrollWidth > name.clientWidth")

    # When its page is opened
    card.click()
    preview = page.locator(".preview")
    shown = preview.get_by_role("img", name=LONG_NAME)
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=shown.element_handle()
    )

    # Then it fits the screen too, and the image is not drawn wider than its 300 pixels
    assert overflow_px(page) <= 0
    box = preview.bounding_box()
    assert box is not None and box["width"] <= 300


def test_coming_back_from_an_image_finds_the_gallery_as_it_was_left(
    browser: Browser, api: Api
) -> None:
    # Given a dozen completed images, and a gallery on a phone with the completed ones chosen
    ids = [api.upload(f"back-{n:02}.jpg", scene(160, 120, n * 20))["id"] for n in range(12)]
    for image_id in ids:
        assert api.wait_final(image_id)["status"] == "COMPLETED"
    page = browser.new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    page.set_default_timeout(TIMEOUT_MS)
    not_found: list[str] = []

    def record_missing(response: Response) -> None:
        if response.status == 404:
            not_found.append(response.url)

    page.on("response", record_missing)
    page.goto(f"{api.base_url}/#/")
    expect(page).to_have_title("Gallery \N{EN DASH} imagequeue")
    status = page.get_by_role("combobox", name="Status")
    status.select_option("COMPLETED")
    expect(page).to_have_url(re.compile(r"#/\?status=completed$"))
    expect(page).to_have_title("Gallery: completed \N{EN DASH} imagequeue")

    # When the oldest of them is scrolled to and opened, and the page's link back followed
    card = page.get_by_role("link", name="back-00.jpg, completed")
    card.scroll_into_view_if_needed()
    scrolled_to = page.evaluate("window.scrollY")
    assert scrolled_to > 0
    card.click()
    expect(page.get_by_role("heading", name=re.compile(r"^back-00\.jpg"))).to_be_visible()
    expect(page).to_have_title("back-00.jpg \N{EN DASH} imagequeue")
    page.get_by_role("link", name="← Back to the gallery").click()

    # Then the gallery is as it was left: that filter, scrolled as it was, that card focused
    expect(card).to_be_focused()
    expect(card).to_be_in_viewport()
    assert page.evaluate("window.scrollY") == scrolled_to
    expect(status).to_have_value("COMPLETED")
    expect(page).to_have_url(re.compile(r"#/\?status=completed$"))

    # And the same with the browser's own Back
    card.click()
    expect(page).to_have_title("back-00.jpg \N{EN DASH} imagequeue")
    page.go_back()
    expect(card).to_be_focused()
    expect(card).to_be_in_viewport()
    expect(status).to_have_value("COMPLETED")

    # And the page names its icon, inline: the browser asks for no /favicon.ico, which the
    # server does not have (headless Chromium asks for none, so that is not what is checked)
    icon_width = page.evaluate(
        "async () => { const icon = new Image();"
        " icon.src = document.querySelector('link[rel~=icon]').href;"
        " await icon.decode(); return icon.naturalWidth; }"
    )
    assert icon_width > 0
    assert not_found == []
    page.close()


def test_leaving_the_page_while_files_upload_asks_first(
    browser: Browser, api: Api, tmp_path: Path
) -> None:
    # Given a page whose upload the server has not answered yet (held here), after the
    # person has used the page (browsers ask only then)
    page = browser.new_page(viewport=DESKTOP)
    page.set_default_timeout(TIMEOUT_MS)
    held: list[Route] = []

    def hold_uploads(route: Route) -> None:
        if is_upload(route.request):
            held.append(route)
        else:
            route.continue_()

    page.route("**/graphql", hold_uploads)
    page.goto(f"{api.base_url}/#/")
    page.get_by_role("heading", name="Upload").click()
    held_file = tmp_path / "held.jpg"
    held_file.write_bytes(photo(64, 48))
    page.get_by_test_id("file-input").set_input_files(held_file)
    row = page.get_by_role("list", name="Uploads").get_by_role("listitem")
    expect(row).to_contain_text("Uploading")

    # When the page is reloaded, and the person, asked, chooses to stay
    asked: list[str] = []

    def stay(dialog: Dialog) -> None:
        asked.append(dialog.type)
        dialog.dismiss()

    page.on("dialog", stay)
    # (A reload that is called off never finishes: its wait runs out.)
    with pytest.raises(PlaywrightTimeoutError):
        page.reload(timeout=3_000)

    # Then the browser asked first, and the page stays, its upload going
    assert asked == ["beforeunload"]
    expect(row).to_contain_text("Uploading")
    [upload] = held
    upload.abort()
    page.close()


def test_retry_keeps_keyboard_focus_and_a_repeated_failure_shows(
    browser: Browser, api: Api
) -> None:
    # Given a gallery showing an image that fails whenever it is processed
    whole = scene(400, 300, 20)
    failing = api.wait_final(api.upload("cut-short.jpg", whole[: len(whole) // 3])["id"])
    assert failing["status"] == "FAILED"
    streams_before = value(scrape(api.base_url), "imagequeue_subscriptions_active")
    page = browser.new_page(viewport=DESKTOP)
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{api.base_url}/#/")
    card = page.get_by_test_id("image-card").filter(has_text="cut-short.jpg")
    expect(card).to_have_attribute("data-status", "FAILED", timeout=TIMEOUT_MS)
    # And its live stream running, which is how the card hears of the new attempt (the
    # first page can show before the stream is open)
    wait_for(
        lambda: value(scrape(api.base_url), "imagequeue_subscriptions_active") > streams_before,
        "the gallery's live stream to open",
    )

    # When its Retry is pressed from the keyboard
    retry = card.get_by_role("button", name="Retry cut-short.jpg")
    retry.focus()
    page.keyboard.press("Enter")

    # Then it fails again, which the card says, and keyboard focus is still on the card
    expect(card).to_contain_text("failed again", timeout=TIMEOUT_MS)
    expect(card).to_have_attribute("data-status", "FAILED")
    focused = page.evaluate("document.activeElement.closest('[data-testid=image-card]') !== null")
    assert focused, page.evaluate("document.activeElement.outerHTML")
    page.close()


def test_an_image_deleted_elsewhere_leaves_an_open_gallery(browser: Browser, api: Api) -> None:
    # Given an open gallery showing a completed image
    leaving_id = api.wait_final(api.upload("leaving.jpg", scene(300, 200, 90))["id"])["id"]
    streams_before = value(scrape(api.base_url), "imagequeue_subscriptions_active")
    page = browser.new_page(viewport=DESKTOP)
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{api.base_url}/#/")
    grid = page.get_by_role("list", name="Images")
    leaving = grid.get_by_role("link", name=re.compile(r"^leaving\.jpg"))
    expect(leaving).to_be_visible(timeout=TIMEOUT_MS)
    # And its live stream running (the first page can show before the stream is open):
    # an upload made after that appears on its own
    wait_for(
        lambda: value(scrape(api.base_url), "imagequeue_subscriptions_active") > streams_before,
        "the gallery's live stream to open",
    )
    api.upload("arriving.jpg", scene(300, 200, 30))
    arriving = grid.get_by_role("link", name=re.compile(r"^arriving\.jpg"))
    expect(arriving).to_be_visible(timeout=TIMEOUT_MS)

    # When another client deletes the first image
    assert api.http.delete(f"/api/images/{leaving_id}").status_code == 200

    # Then it leaves the gallery without a reload
    expect(leaving).to_have_count(0, timeout=TIMEOUT_MS)
    expect(arriving).to_be_visible(timeout=TIMEOUT_MS)


def test_an_open_gallery_catches_up_after_the_server_restarts(
    browser: Browser, service_env: dict[str, str], tmp_path: Path
) -> None:
    with own_server(service_env, tmp_path, {}) as own:
        # Given an open gallery, its live stream running, showing an image that waits for
        # a worker (this stack has none yet)
        own.api.upload("waiting.jpg", scene(300, 200, 200))
        base_url = own.api.base_url
        page = browser.new_page(viewport=DESKTOP)
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(f"{base_url}/#/")
        card = page.get_by_test_id("image-card").filter(has_text="waiting.jpg")
        expect(card).to_have_attribute("data-status", "PENDING")
        wait_for(
            lambda: value(scrape(base_url), "imagequeue_subscriptions_active") == 1,
            "the gallery's live stream to open",
        )

        # When the server stops, a worker processes the image while no server listens for
        # its events, and the server comes back on the same address
        own.server.stop()
        paused = page.get_by_text("Live updates paused: reconnecting to the server")
        expect(paused).to_be_visible()
        worker = own.launcher.start_worker()
        wait_for(lambda: "job completed" in worker.log(), "the worker to process the image")
        own.launcher.start_server(port=urlsplit(base_url).port)

        # Then the page reconnects, says so, and shows the image completed, without a reload
        expect(card).to_have_attribute("data-status", "COMPLETED", timeout=TIMEOUT_MS)
        expect(paused).to_have_count(0)
        page.close()

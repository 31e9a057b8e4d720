"""Browser tests: Debian's Chromium, headless, driven by Playwright against pytest-django's live server.

Without /usr/bin/chromium the tests are skipped with a reason — except when the CI variable is set,
then they fail. Screenshots go to test-output/screenshots/ (git-ignored).
"""

import os
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
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
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"
PASSWORD = "pw-for-tests-1"  # the make_user fixture's password

# Playwright's sync API runs its own event loop; Django must allow ORM calls from this thread.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def chromium():
    """Function-scoped on purpose: Playwright's sync API keeps an event loop running while it is open, and
    other tests in the same worker call asyncio.run()."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but {CHROMIUM} is missing: run scripts/system-deps.sh --browser")
        pytest.skip(f"{CHROMIUM} is missing (install it with scripts/system-deps.sh --browser)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium, live_server):
    context = chromium.new_context(base_url=live_server.url, locale="zh-CN", accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def login(page):
    """login(user) -> fills the real login form; the page then shows the dashboard."""

    def _login(user, password: str = PASSWORD):
        page.goto("/accounts/login/")
        page.fill("input[name=username]", user.get_username())
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        page.wait_for_url(lambda url: "/accounts/login/" not in url)
        return page

    return _login


@pytest.fixture
def screenshot(page, request):
    """screenshot("step") -> saves test-output/screenshots/<test name>-step.png and returns its path."""

    def _shot(step: str = "final") -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{request.node.name}-{step}.png".replace("/", "_")
        page.screenshot(path=str(path), full_page=True)
        return path

    return _shot

"""Fixtures for the browser tests: Debian's Chromium driven through Playwright against
pytest-django's live server.

Without Chromium or the playwright package every browser test is skipped, saying why;
with LLM_ADMIN_REQUIRE_BROWSER=1 (CI) they fail instead, so a missing browser cannot
pass for a green run.
"""

import os
from pathlib import Path

import pytest
from django.core.cache import cache

# Playwright's sync API runs an event loop in this thread, and Django refuses ORM calls
# from a thread with a running loop; the tests set up and check data through the ORM.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover (depends on the machine)
    sync_playwright = None

CHROMIUM = Path("/usr/bin/chromium")
# Playwright's own browser download cannot work here: always Debian's build, offline.
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
BROWSER_REQUIRED = os.environ.get("LLM_ADMIN_REQUIRE_BROWSER") == "1"
PASSWORD = "correct horse battery staple"
VIEWPORT = {"width": 1400, "height": 900}
TIMEOUT_MS = 10_000  # a step that takes longer than this is broken, not slow


def browser_problem() -> str | None:
    """Why the browser tests cannot run on this machine, or None."""
    if sync_playwright is None:
        return "the playwright package is not installed (pip install -r requirements.txt)"
    if not CHROMIUM.exists():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    return None


def pytest_collection_modifyitems(config, items):
    problem = browser_problem()
    if problem is None or BROWSER_REQUIRED:
        return  # with the browser required, the `browser` fixture fails each test instead
    for item in items:
        if item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.skip(reason=f"browser tests skipped: {problem}"))


@pytest.fixture(scope="session")
def browser():
    problem = browser_problem()
    if problem is not None:
        message = f"browser tests cannot run: {problem}"
        pytest.fail(message) if BROWSER_REQUIRED else pytest.skip(message)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test starts with an empty cache, whatever an earlier test left in it."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def new_page(browser, live_server):
    """new_page() -> a page in a new browser context (its own cookies and storage).

    Uncaught JavaScript errors on any page fail the test."""
    contexts, errors = [], []

    def make():
        context = browser.new_context(base_url=live_server.url, viewport=VIEWPORT)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(f"{page.url}: {error}"))
        return page

    yield make
    for context in contexts:
        context.close()
    assert not errors, f"JavaScript errors: {errors}"


@pytest.fixture
def page(new_page):
    return new_page()


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser(username="alice", email="alice@example.com", password=PASSWORD)


def sign_in(page, username: str, password: str = PASSWORD, *, path: str = "/admin/") -> None:
    """Through the real sign-in form; `path` is where to start (the login page when already there)."""
    if "/admin/login/" not in page.url:
        page.goto(path)
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    with page.expect_navigation():
        page.click("input[type=submit]")


@pytest.fixture
def signed_in_page(page, superuser):
    sign_in(page, superuser.username)
    assert page.locator("#user-tools").get_by_text(superuser.username, exact=False).count() == 1
    return page

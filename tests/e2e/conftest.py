"""Browser tests: Playwright drives Debian's Chromium against pytest-django's live server (the
same PostgreSQL test database, in this process, so ``django.core.mail.outbox`` sees its mail).

Run only these with ``pytest -m e2e``. Without /usr/bin/chromium they skip on a developer machine
and fail in CI (where .ci/run installs it)."""

from __future__ import annotations

import os

import pytest

from tests.conftest import skip_unless_ci
from tests.e2e import browser as b


def pytest_collection_modifyitems(items):
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.fspath).startswith(here):
            item.add_marker(pytest.mark.e2e)
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="package")
def chromium():
    """One headless Chromium for the whole e2e package.

    Playwright's sync API runs an event loop in this thread, so Django's ORM would refuse to run
    (SynchronousOnlyOperation) while the browser is up: DJANGO_ALLOW_ASYNC_UNSAFE is set exactly
    as long as it is."""
    if not b.chromium_available():
        skip_unless_ci(f"Chromium is not installed at {b.CHROMIUM}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_unless_ci("the playwright package is not installed (requirements.lock)")

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = b.launch(playwright)
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def site(live_server):
    """The live server's base URL (tests mark themselves ``django_db(transaction=True)``)."""
    return live_server.url


@pytest.fixture
def page_in(chromium, site):
    """``page_in("zh-hans" | "en", width=1280, user=None)`` opens a fresh browser context (own
    cookies) whose Accept-Language and locale ask for that language, signed in as ``user`` if
    given, and returns its page."""
    from tests.e2e.journeys import session_cookie

    contexts = []

    def open_page(language: str, width: int = b.VIEWPORT["width"], height: int = b.VIEWPORT["height"], user=None):
        context = b.new_context(chromium, language, viewport={"width": width, "height": height}, base_url=site)
        context.set_default_timeout(10_000)
        if user is not None:
            context.add_cookies([session_cookie(user, site)])
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()

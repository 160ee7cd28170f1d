"""Browser tests of the embeddable portal: Debian's Chromium driven by Playwright.

The portal runs on a page of another origin (real CORS: BILLING_CORS_ORIGINS names it) and
talks to a real `billing serve` on a loopback port, on the suite's database migrated by
Alembic. One Chromium per pytest process, one fresh context per test. Without Chromium at
BILLING_TEST_CHROMIUM (default /usr/bin/chromium) every test here is skipped, saying so.
"""

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright

from tests.browser.servers import BillingServer, HostPage, billing_server
from tests.conftest import TEST_JWT_SECRET
from tests.stripe_server import API_KEY, WEBHOOK_SECRET, LocalStripe

CHROMIUM = Path(os.environ.get("BILLING_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_FOUND = CHROMIUM.exists()
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# axe-core's script, fetched from npm by `make axe` (see the Makefile).
AXE_JS = Path(
    os.environ.get(
        "BILLING_TEST_AXE_JS", Path(__file__).parents[2] / ".cache" / "axe-core" / "axe.min.js"
    )
)
PUBLISHABLE_KEY = "pk_test_billing_localstripe"


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    if not CHROMIUM_FOUND:
        pytest.skip(
            f"Chromium not found at {CHROMIUM}: browser tests skipped (apt-get install chromium)"
        )
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        yield chromium
        await chromium.close()


@pytest.fixture(scope="session")
def host_page() -> Iterator[HostPage]:
    host = HostPage()
    yield host
    host.close()


@pytest.fixture(scope="session")
def server(
    browser: Browser,
    migrated: str,
    provider: str,
    host_page: HostPage,
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
) -> Iterator[BillingServer]:
    environment = {
        "BILLING_DATABASE_URL": migrated,
        "BILLING_JWT_SECRET": TEST_JWT_SECRET,
        "BILLING_ENV": "development",
        "BILLING_CORS_ORIGINS": host_page.origin,
        "BILLING_PAYMENT_PROVIDER": provider,
    }
    if provider == "stripe":
        localstripe: LocalStripe = request.getfixturevalue("localstripe")
        environment |= {
            "BILLING_STRIPE_API_KEY": API_KEY,
            "BILLING_STRIPE_API_BASE": localstripe.base_url,
            "BILLING_STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "BILLING_STRIPE_PUBLISHABLE_KEY": PUBLISHABLE_KEY,
            "BILLING_STRIPE_JS_URL": f"{localstripe.base_url}/js.stripe.com/v3/",
        }
    log = tmp_path_factory.mktemp("billing-serve") / "server.log"
    with billing_server(environment, log) as running:
        host_page.api = running.url
        yield running


@pytest.fixture
async def api(server: BillingServer) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of the running server, for setting up and checking what the page did."""
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
        yield http


@pytest.fixture
def account() -> str:
    """A new account per test: the server process remembers the accounts it has seen."""
    return f"acct_{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def page(browser: Browser, server: BillingServer) -> AsyncIterator[Page]:
    """A fresh browser context; any uncaught error in the page fails the test."""
    context = await browser.new_context(
        viewport={"width": 1000, "height": 800}, accept_downloads=True
    )
    context.set_default_timeout(10_000)
    tab = await context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    yield tab
    await context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the tabs' screenshots go: `portal-screenshots0/` under pytest's temporary dir."""
    return tmp_path_factory.mktemp("portal-screenshots")


@pytest.fixture(scope="session")
def axe_source() -> str:
    if not AXE_JS.exists():
        pytest.skip(f"{AXE_JS} is missing: run `make axe` (needs npm) for the accessibility check")
    return AXE_JS.read_text()

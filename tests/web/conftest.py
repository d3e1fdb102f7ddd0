"""A real ``sluice serve`` (uvicorn on 127.0.0.1, port 0) behind a cuttable proxy, a real
local upstream and fake LLM, and headless Debian Chromium driven by Playwright.

Browser tests are skipped, with the reason, only where ``/usr/bin/chromium`` is missing
(``.ci/run`` installs it). Screenshots go to ``artifacts/screenshots/`` (git-ignored).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.async_api import Browser, ConsoleMessage, Page, async_playwright

from sluice.api.app import build_app
from sluice.api.settings import Settings
from sluice.api.state import ServerState
from tests.integrations.upstream import Upstream
from tests.loopback import uvicorn_on_loopback
from tests.providers.fake_llm import FakeLLM
from tests.web.proxy import Proxy

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
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

NO_CHROMIUM = "no /usr/bin/chromium (apt-get install chromium; .ci/run does)"
HAS_CHROMIUM = CHROMIUM.exists()
needs_chromium = pytest.mark.skipif(not HAS_CHROMIUM, reason=NO_CHROMIUM)

FLOWS = """\
kind: integration
id: relay
request:
  url: "{upstream}/v1/chat/completions"
  body: {{model: m, stream: true, messages: "{{{{ messages }}}}"}}
stream: {{type: sse, mapping: openai}}
---
kind: integration
id: weather
request:
  method: GET
  url: "{upstream}/weather"
  query: {{city: "{{{{ vars.city }}}}"}}
---
kind: model
id: fake
provider: openai
model: fake-model
base_url: "{llm}/v1"
---
kind: flow
id: relay
public: true
nodes:
  - {{id: answer, type: integration, integration: relay}}
---
kind: flow
id: docs
public: true
nodes:
  - {{id: search, type: retrieve, source: "{kb}", k: 2}}
  - {{id: answer, type: integration, integration: relay}}
---
kind: flow
id: agent
public: true
nodes:
  - id: agent
    type: agent
    model: fake
    tools:
      - integration: weather
        name: get_weather
        description: Current weather for a city.
        status: Checking the weather…
        parameters: {{type: object, properties: {{city: {{type: string}}}}, required: [city]}}
"""

KB = {
    "refunds.md": "# Refunds\n\nRefunds are paid within five days of the return.\n",
    "shipping.md": "# Shipping\n\nParcels ship the next day; refunds follow a return.\n",
}


@dataclass
class Site:
    """The server as the browser reaches it (through the proxy) and as the test sees it."""

    url: str
    state: ServerState
    upstream: Upstream
    llm: FakeLLM
    proxy: Proxy


@dataclass
class Browsing:
    """A page in a fresh browser context, with what it logged."""

    page: Page
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)


@pytest.fixture
async def site(tmp_path: Path, upstream: Upstream, llm: FakeLLM) -> AsyncIterator[Site]:
    kb = tmp_path / "kb"
    kb.mkdir()
    for name, text in KB.items():
        (kb / name).write_text(text)
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "flows.yaml").write_text(FLOWS.format(upstream=upstream.url, llm=llm.url, kb=kb))
    settings = Settings(
        flows=flows, database_url=f"sqlite+aiosqlite:///{tmp_path / 'sluice.db'}", keepalive_s=0.5
    )
    asgi, fastapi_app = build_app(settings)
    async with uvicorn_on_loopback(asgi, lifespan="on") as port:
        proxy = Proxy(port)
        await proxy.start()
        try:
            yield Site(proxy.url, fastapi_app.state.sluice, upstream, llm, proxy)
        finally:
            await proxy.stop()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not HAS_CHROMIUM:
        pytest.skip(NO_CHROMIUM)
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def browsing(browser: Browser) -> AsyncIterator[Browsing]:
    context = await browser.new_context(viewport={"width": 1000, "height": 760})
    context.set_default_timeout(10_000)
    page = await context.new_page()
    seen = Browsing(page)

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            seen.console_errors.append(message.text)

    page.on("console", console)
    page.on("pageerror", lambda error: seen.page_errors.append(str(error)))
    page.on("request", lambda request: seen.requests.append(request.url))
    try:
        yield seen
    finally:
        await context.close()


def screenshot_path(name: str) -> str:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return str(SCREENSHOTS / f"{name}.png")

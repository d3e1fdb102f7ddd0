"""A real Sluice server under uvicorn on 127.0.0.1 (port 0), for every API test.

Its flows call a real local upstream (``upstream``) and a fake LLM (``llm``); it runs on
SQLite and on the PostgreSQL on 127.0.0.1 (``database_url`` from the store tests).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from sluice.api.app import build_app
from sluice.api.settings import Settings
from sluice.api.state import ServerState
from tests.integrations.upstream import Upstream
from tests.loopback import uvicorn_on_loopback
from tests.providers.fake_llm import FakeLLM
from tests.store.conftest import database_url  # noqa: F401  # the fixture, on both backends

FLOWS = """\
kind: integration
id: relay
request:
  url: "{upstream}/v1/chat/completions"
  body: {{model: m, stream: true, messages: "{{{{ messages }}}}"}}
stream: {{type: sse, mapping: openai}}
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
id: relay-stop
public: true
stop_on_disconnect: true
nodes:
  - {{id: answer, type: integration, integration: relay}}
---
kind: flow
id: private
nodes:
  - {{id: hello, type: say, text: "secret hello"}}
---
kind: flow
id: whole
public: true
nodes:
  - {{id: hello, type: say, text: "all at once", stream: false}}
"""


@dataclass
class Server:
    url: str
    state: ServerState
    upstream: Upstream
    llm: FakeLLM

    def client(self, **kwargs: object) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, timeout=10, **kwargs)  # type: ignore[arg-type]  # httpx's keyword types


@pytest.fixture
async def server(
    database_url: str,  # noqa: F811  # the imported fixture
    tmp_path: Path,
    upstream: Upstream,
    llm: FakeLLM,
) -> AsyncIterator[Server]:
    async with serving(database_url, tmp_path, upstream, llm) as running:
        yield running


@asynccontextmanager
async def serving(
    url: str, tmp_path: Path, upstream: Upstream, llm: FakeLLM, **settings: Any
) -> AsyncIterator[Server]:
    """The server on the test flows, with ``settings`` over the tests' defaults."""
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "flows.yaml").write_text(FLOWS.format(upstream=upstream.url, llm=llm.url))
    options: dict[str, Any] = {
        "flows": flows,
        "database_url": url,
        "keepalive_s": 0.5,
        "max_body_bytes": 64_000,
        **settings,
    }
    asgi, fastapi_app = build_app(Settings(**options))
    async with uvicorn_on_loopback(asgi, lifespan="on") as port:
        yield Server(f"http://127.0.0.1:{port}", fastapi_app.state.sluice, upstream, llm)

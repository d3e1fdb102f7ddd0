"""The page, the widget script and the assets as the server ships them (no browser)."""

from __future__ import annotations

import httpx
import pytest

from tests.web.conftest import Site

pytestmark = pytest.mark.anyio


async def test_assets_are_served_with_their_types_and_unknown_ones_are_404(site: Site):
    async with httpx.AsyncClient(base_url=site.url) as client:
        page = await client.get("/chat/relay")
        script = await client.get("/embed.js")
        module = await client.get("/web/markdown.js")
        missing = await client.get("/web/..%2Fapi%2Fapp.py")
    assert page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert b'src="/web/chat.js"' in page.content
    assert script.headers["content-type"].startswith("text/javascript")
    assert module.headers["content-type"].startswith("text/javascript")
    assert missing.status_code == 404

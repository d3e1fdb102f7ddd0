"""The admin pages in a real browser (Debian's Chromium, driven by Playwright) on a real server.

The upstream holds each chunk on an ``asyncio.Event``, so a test sees raw chunks and
mapped text appear in the Test panel one at a time. Screenshots go to
``artifacts/screenshots/`` (git-ignored).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from tests.api.conftest import Server
from tests.api.test_server import DONE, delta

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="needs Debian's Chromium at /usr/bin/chromium"
    ),
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),  # pages, not storage
]


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield browser
        finally:
            await browser.close()


@pytest.fixture
async def page(browser: Browser, server: Server, admin_key: str) -> AsyncIterator[Page]:
    """The admin page, signed in with a fresh key."""
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    page = await context.new_page()
    await page.goto(f"{server.url}/admin")
    await page.get_by_label("API key").fill(admin_key)
    await page.get_by_role("button", name="Continue").click()
    await expect(page.locator("body[data-ready=true]")).to_have_count(1)
    try:
        yield page
    finally:
        await context.close()


async def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


async def test_a_wrong_key_is_refused(browser: Browser, server: Server):
    page = await browser.new_page()
    await page.goto(f"{server.url}/admin")
    await page.get_by_label("API key").fill("sluice_wrong")
    await page.get_by_role("button", name="Continue").click()
    await expect(page.get_by_role("alert").first).to_have_text("That API key was refused.")


async def test_integration_form_reveals_stream_settings_and_checks_the_expression(
    page: Page, server: Server
):
    await page.get_by_role("button", name="New integration").click()
    await page.get_by_label("Name", exact=True).fill("echo")
    await page.get_by_label("URL").fill(f"{server.upstream.url}/v1/chat/completions")
    await page.get_by_label("Body").fill('{"stream": true, "messages": "{{ messages }}"}')
    stream_type = page.get_by_label("Stream type")
    await expect(stream_type).to_be_hidden()
    await page.get_by_label("Should stream response").check()
    await expect(stream_type).to_be_visible()

    expression = page.get_by_label("Chunk to bot response mapping expression")
    await expect(expression).to_be_hidden()
    await page.get_by_label("Chunk to bot response mapping", exact=True).select_option("Custom")
    await expect(expression).to_be_visible()
    await expression.fill("choices[0")
    await expect(expression).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#int-expression-status")).to_contain_text("position")
    await screenshot(page, "admin-integration-invalid-expression.png")
    await expression.fill("choices[0].delta.content")
    await expect(expression).to_have_attribute("aria-invalid", "false")
    await expect(page.locator("#int-expression-status")).to_have_text("Valid expression")
    await page.get_by_label("Bot response buffering").select_option("Words")
    await screenshot(page, "admin-integration-form.png")

    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_role("status").first).to_have_text("Saved integration echo.")
    stored = await server.state.db.definitions.get_definition("integration", "echo")
    assert stored is not None
    assert stored.document["stream"] == {
        "type": "sse",
        "mapping": "custom",
        "buffering": "words",
        "expression": "choices[0].delta.content",
    }


async def test_test_button_streams_raw_chunks_and_the_bot_response_live(page: Page, server: Server):
    first, second = asyncio.Event(), asyncio.Event()
    server.upstream.reply([delta("Hello"), first, delta(" there, wor"), second, delta("ld."), DONE])
    await page.get_by_role("button", name="New integration").click()
    await page.get_by_label("Name", exact=True).fill("echo")
    await page.get_by_label("URL").fill(f"{server.upstream.url}/v1/chat/completions")
    await page.get_by_label("Body").fill('{"stream": true, "messages": "{{ messages }}"}')
    await page.get_by_label("Should stream response").check()
    await page.get_by_label("Chunk to bot response mapping", exact=True).select_option(
        "Open AI mapping"
    )
    await page.get_by_label("Bot response buffering").select_option("Words")
    await page.get_by_role("button", name="Test").click()

    raw = page.locator("#raw-chunks li")
    response = page.locator("#bot-response")
    await expect(raw).to_have_count(1)
    await expect(raw.first).to_contain_text('"content":"Hello"')
    await expect(response).to_have_text("")  # word buffering holds "Hello" for now
    first.set()
    await expect(raw).to_have_count(2)
    await expect(response).to_have_text("Hello there, ")
    await screenshot(page, "admin-integration-test-live.png")
    second.set()
    await expect(page.locator("#test-status")).to_contain_text("Done (HTTP 200), 3 chunks")
    await expect(response).to_have_text("Hello there, world.")
    await expect(raw).to_have_count(3)
    await expect(page.locator("#final-chunks")).to_contain_text('"content": "ld."')
    assert server.upstream.requests[0].body.startswith(b'{"stream":true')
    await screenshot(page, "admin-integration-test.png")


async def test_flow_editor_marks_the_failing_line_and_the_playground_chats(
    page: Page, server: Server
):
    await page.get_by_role("button", name="Flows").click()
    await page.get_by_role("button", name="New flow").click()
    editor = page.get_by_label("Flow definition")
    await editor.fill(
        "id: greet\nnodes:\n  - id: hello\n    type: say\n    text: Hi\n    stream: maybe\n"
    )
    await expect(page.locator("#flow-errors li")).to_contain_text("Line 6: nodes.hello.stream")
    await expect(page.locator("#flow-gutter .bad")).to_have_text("6")
    await screenshot(page, "admin-flow-editor-error.png")
    await editor.fill("id: greet\nnodes:\n  - id: hello\n    type: say\n    text: Hi there\n")
    await expect(page.locator("#flow-errors li")).to_have_count(0)
    await page.get_by_role("button", name="Save flow").click()
    await expect(page.get_by_role("status").first).to_have_text("Saved flow greet.")

    await page.get_by_label("Message", exact=True).fill("hello?")
    await page.get_by_role("button", name="Send").click()
    await expect(page.locator("#playground-messages li.bot")).to_have_text("Hi there")
    await screenshot(page, "admin-flow-playground.png")

    await page.get_by_role("button", name="Chats").click()
    await page.get_by_label("Flow", exact=True).select_option("greet")
    await page.locator("#chat-list button").first.click()
    rows = page.locator("#chat-messages tbody tr")
    await expect(rows).to_have_count(2)
    await expect(rows.nth(1)).to_contain_text("Hi there")
    await expect(rows.nth(1)).to_contain_text("complete")
    await screenshot(page, "admin-chats.png")

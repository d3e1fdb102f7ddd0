"""The web chat in headless Chromium against a real server and a real upstream."""

from __future__ import annotations

import asyncio

import orjson
import pytest
from playwright.async_api import expect

from tests.web.conftest import Browsing, Site, needs_chromium, screenshot_path

pytestmark = [pytest.mark.anyio, needs_chromium]

DONE = b"data: [DONE]\n\n"
ANSWER = ".message.bot:last-child .content"


def delta(text: str) -> bytes:
    return b'data: {"choices":[{"delta":{"content":' + orjson.dumps(text) + b"}}]}\n\n"


async def ask(browsing: Browsing, question: str) -> None:
    box = browsing.page.get_by_label("Message", exact=True)
    await box.fill(question)
    await box.press("Enter")


async def answer_text(browsing: Browsing) -> str:
    return await browsing.page.locator(ANSWER).inner_text()


async def test_answer_grows_on_screen_before_the_upstream_finishes(site: Site, browsing: Browsing):
    words = ["Tokens ", "arrive ", "one ", "by ", "one."]
    gates = [asyncio.Event() for _ in words]
    steps: list[bytes | asyncio.Event] = []
    for word, gate in zip(words, gates, strict=True):
        steps += [gate, delta(word)]
    site.upstream.reply([*steps, DONE])
    page = browsing.page
    await page.goto(f"{site.url}/chat/relay")
    await ask(browsing, "Stream please")
    await expect(page.get_by_label("The assistant is typing")).to_be_visible()
    await page.screenshot(path=screenshot_path("chat-typing"))
    seen = []
    for index, gate in enumerate(gates):
        gate.set()
        await expect(page.locator(ANSWER)).to_have_text("".join(words[: index + 1]).strip())
        await expect(page.get_by_label("The assistant is typing")).to_be_hidden()
        seen.append(await answer_text(browsing))
        if index == 2:
            await page.screenshot(path=screenshot_path("chat-mid-stream"))
    await expect(page.locator("body")).to_have_attribute("data-state", "idle")
    assert len(set(seen)) == len(words)  # every intermediate text was on screen
    assert await answer_text(browsing) == "Tokens arrive one by one."
    await page.screenshot(path=screenshot_path("chat-finished"))
    assert browsing.page_errors == []


MARKDOWN = (
    "# Plan\n\nSome **bold**, *italic* and `inline code`.\n\n- one\n- two\n\n"
    "1. first\n2. second\n\n```python\nprint('<b>hi</b>')\n```\n\n"
    "A [link](https://example.com/a) and [bad](javascript:alert(1)).\n\n"
    '<script>window.pwned = 1</script>\n<img src=x onerror="window.pwned = 2">'
)


async def test_markdown_renders_and_html_in_model_output_is_shown_as_text(
    site: Site, browsing: Browsing
):
    pieces = [MARKDOWN[i : i + 7] for i in range(0, len(MARKDOWN), 7)]
    site.upstream.reply([*(delta(p) for p in pieces), DONE])
    page = browsing.page
    await page.goto(f"{site.url}/chat/relay")
    await ask(browsing, "Show me Markdown")
    await expect(page.locator("body")).to_have_attribute("data-state", "idle")
    answer = page.locator(ANSWER)
    await expect(answer.locator("h1")).to_have_text("Plan")
    await expect(answer.locator("strong")).to_have_text("bold")
    await expect(answer.locator("em")).to_have_text("italic")
    await expect(answer.locator("p > code")).to_have_text("inline code")
    await expect(answer.locator("ul > li")).to_have_text(["one", "two"])
    await expect(answer.locator("ol > li")).to_have_text(["first", "second"])
    await expect(answer.locator("pre > code")).to_have_text("print('<b>hi</b>')")
    await expect(answer.locator("a")).to_have_count(1)
    await expect(answer.locator("a")).to_have_attribute("href", "https://example.com/a")
    assert await answer.locator("script, img, b").count() == 0
    text = await answer_text(browsing)
    assert "<script>window.pwned = 1</script>" in text
    assert '<img src=x onerror="window.pwned = 2">' in text
    assert "[bad](javascript:alert(1))" in text
    assert await page.evaluate("window.pwned") is None
    await page.screenshot(path=screenshot_path("chat-markdown"), full_page=True)
    assert browsing.page_errors == []


async def test_stop_keeps_the_partial_answer_marked_stopped_after_a_reload(
    site: Site, browsing: Browsing
):
    hold = asyncio.Event()
    site.upstream.reply([delta("Half "), delta("an "), hold, delta("answer"), DONE])
    page = browsing.page
    await page.goto(f"{site.url}/chat/relay")
    await ask(browsing, "Say something long")
    await expect(page.locator(ANSWER)).to_have_text("Half an")
    await page.get_by_role("button", name="Stop the answer").click()
    await expect(page.locator(".message.bot .footer")).to_have_text("Stopped")
    await expect(page.locator("body")).to_have_attribute("data-state", "idle")
    async with asyncio.timeout(5):
        await site.upstream.disconnected.wait()  # the abort reached the upstream
    hold.set()
    assert await answer_text(browsing) == "Half an"
    await page.screenshot(path=screenshot_path("chat-stopped"))
    await page.reload()
    await expect(page.locator(ANSWER)).to_have_text("Half an")
    await expect(page.locator(".message.bot .footer")).to_have_text("Stopped")
    await expect(page.locator(".message.user")).to_have_text("Say something long")


async def test_a_dropped_connection_resumes_with_the_full_text_exactly_once(
    site: Site, browsing: Browsing
):
    words = [f"w{i} " for i in range(12)]
    hold = asyncio.Event()
    site.upstream.reply(
        [*(delta(w) for w in words[:6]), hold, *(delta(w) for w in words[6:]), DONE]
    )
    page = browsing.page
    await page.goto(f"{site.url}/chat/relay")
    await ask(browsing, "Count")
    await expect(page.locator(ANSWER)).to_have_text("".join(words[:6]).strip())
    async with page.expect_request("**/api/v1/runs/*/events") as resumed:
        site.proxy.cut()  # the connection dies mid-answer, as a network drop does
    assert (await resumed.value).headers.get("last-event-id")
    hold.set()
    await expect(page.locator("body")).to_have_attribute("data-state", "idle")
    assert await answer_text(browsing) == "".join(words).strip()
    await page.screenshot(path=screenshot_path("chat-resumed"))
    assert browsing.page_errors == []


async def test_a_stream_error_is_shown_in_the_conversation(site: Site, browsing: Browsing):
    site.upstream.reply([delta("So far"), b'data: {"error": {"message": "overloaded"}}\n\n'])
    page = browsing.page
    await page.goto(f"{site.url}/chat/relay")
    await ask(browsing, "q")
    await expect(page.get_by_role("alert")).to_have_text("overloaded")
    await expect(page.locator(ANSWER)).to_have_text("So far")
    await page.screenshot(path=screenshot_path("chat-error"))
    assert browsing.page_errors == []
    assert browsing.console_errors == []


async def test_an_unknown_flow_is_reported_in_the_page(site: Site, browsing: Browsing):
    await browsing.page.goto(f"{site.url}/chat/nope")
    await expect(browsing.page.get_by_role("alert")).to_have_text("no flow 'nope'")
    assert browsing.page_errors == []


async def test_history_is_reloaded_on_refresh(site: Site, browsing: Browsing):
    site.upstream.reply([delta("First **answer**."), DONE])
    site.upstream.reply([delta("Second answer."), DONE])
    page = browsing.page
    await page.goto(f"{site.url}/chat/relay")
    await ask(browsing, "one")
    await expect(page.locator("body")).to_have_attribute("data-state", "idle")
    await ask(browsing, "two")
    await expect(page.locator(ANSWER)).to_have_text("Second answer.")
    await expect(page.locator("body")).to_have_attribute("data-state", "idle")
    await page.reload()
    await expect(page.locator(".message .bubble")).to_have_text(
        ["one", "First answer.", "two", "Second answer."]
    )
    await expect(page.locator(".message.bot strong")).to_have_text("answer")
    await page.get_by_role("button", name="New chat").click()
    await expect(page.locator(".message")).to_have_count(0)
    await page.reload()
    await expect(page.get_by_text("Ask a question to start.")).to_be_visible()


async def test_enter_sends_and_shift_enter_starts_a_new_line(site: Site, browsing: Browsing):
    site.upstream.reply([delta("ok"), DONE])
    page = browsing.page
    await page.goto(f"{site.url}/chat/relay")
    box = page.get_by_label("Message", exact=True)
    await box.focus()
    await page.keyboard.type("line one")
    await page.keyboard.press("Shift+Enter")
    await page.keyboard.type("line two")
    await expect(box).to_have_value("line one\nline two")
    await expect(page.locator(".message")).to_have_count(0)
    await page.keyboard.press("Enter")
    await expect(page.locator(".message.user")).to_have_text("line one\nline two")
    await expect(box).to_have_value("")
    await expect(page.locator(ANSWER)).to_have_text("ok")
    await expect(box).to_be_focused()

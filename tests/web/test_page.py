"""The page around the answer: progress notices, sources, the default flow at ``/``, a
phone-sized screen, and the embeddable widget."""

from __future__ import annotations

import asyncio

import pytest
from playwright.async_api import Browser, expect

from tests.providers.fake_llm import Call, Turn
from tests.web.conftest import Browsing, Site, needs_chromium, screenshot_path
from tests.web.test_chat import ANSWER, DONE, ask, delta

pytestmark = [pytest.mark.anyio, needs_chromium]


async def test_tool_notices_show_while_the_tool_runs(site: Site, browsing: Browsing):
    tool_may_answer = asyncio.Event()
    site.upstream.reply(
        [b'{"temp": 21}'], content_type="application/json", before_headers=tool_may_answer
    )
    site.llm.reply(
        Turn(calls=[Call("c1", "get_weather", ['{"city": ', '"Paris"}'])]),
        Turn(text=["It is ", "21 degrees ", "in Paris."]),
    )
    page = browsing.page
    await page.goto(f"{site.url}/chat/agent")
    await ask(browsing, "Weather in Paris?")
    await expect(
        page.get_by_role("status").filter(has_text="Checking the weather…")
    ).to_be_visible()
    await expect(page.get_by_label("get_weather: running")).to_be_visible()
    await page.screenshot(path=screenshot_path("chat-tool-running"))
    tool_may_answer.set()
    await expect(page.locator(ANSWER)).to_have_text("It is 21 degrees in Paris.")
    await expect(page.get_by_label("get_weather: done")).to_be_visible()
    await expect(page.get_by_text("Checking the weather…")).to_be_hidden()
    await page.screenshot(path=screenshot_path("chat-tool-done"))


async def test_sources_are_listed_under_the_answer(site: Site, browsing: Browsing):
    site.upstream.reply([delta("Refunds take five days."), DONE])
    page = browsing.page
    await page.goto(f"{site.url}/chat/docs")
    await ask(browsing, "How long do refunds take?")
    sources = page.locator(".message.bot .sources")
    await expect(sources.get_by_role("heading")).to_have_text("Sources")
    await expect(sources.locator("li").first).to_contain_text("Refunds")
    await expect(page.locator(ANSWER)).to_have_text("Refunds take five days.")
    await page.screenshot(path=screenshot_path("chat-sources"))
    await page.reload()
    await expect(page.locator(".message.bot .sources li").first).to_contain_text("Refunds")


async def test_the_root_opens_the_default_flow(site: Site, browsing: Browsing):
    page = browsing.page
    await page.goto(f"{site.url}/")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Sluice")
    await ask(browsing, "How do I resume a dropped stream?")
    await expect(page.locator("body")).to_have_attribute("data-state", "idle")
    await expect(page.locator(ANSWER)).to_contain_text("Sluice documentation")
    await expect(page.locator(".message.bot .sources li")).not_to_have_count(0)
    await page.screenshot(path=screenshot_path("chat-default-flow"), full_page=True)


async def test_the_chat_fits_a_phone_screen(site: Site, browser: Browser):
    site.upstream.reply([delta("A long answer " * 20 + "`" + "x" * 120 + "`"), DONE])
    context = await browser.new_context(
        viewport={"width": 375, "height": 667}, is_mobile=True, has_touch=True
    )
    try:
        page = await context.new_page()
        await page.goto(f"{site.url}/chat/relay")
        box = page.get_by_label("Message", exact=True)
        await box.fill("Does it fit?")
        await page.get_by_role("button", name="Send message").tap()
        await expect(page.locator("body")).to_have_attribute("data-state", "idle")
        overflow = await page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0
        await expect(box).to_be_in_viewport()
        await page.screenshot(path=screenshot_path("chat-phone"))
    finally:
        await context.close()


async def test_the_widget_opens_the_chat_from_one_script_tag(site: Site, browsing: Browsing):
    page = browsing.page
    host = (
        '<!doctype html><html><head><title>Shop</title><link rel=icon href="data:,"></head>'
        "<body><h1>A shop</h1>"
        f'<script src="{site.url}/embed.js" data-flow="relay" data-url="{site.url}" '
        'data-theme="dark" data-color="#0a7d5a"></script></body></html>'
    )
    # The host page is another site (another origin: localhost, not 127.0.0.1).
    site.upstream.reply([host.encode()], content_type="text/html")
    await page.goto(site.upstream.url.replace("127.0.0.1", "localhost") + "/shop")
    site.upstream.reply([delta("Hello from "), delta("the widget."), DONE])
    launcher = page.get_by_role("button", name="Open chat")
    await expect(launcher).to_have_attribute("aria-expanded", "false")
    await launcher.click()
    await expect(page.get_by_role("button", name="Close chat")).to_have_attribute(
        "aria-expanded", "true"
    )
    frame = page.frame_locator("iframe[title='Chat']")
    # The frame loads after the click: type only once its script has taken the composer.
    await expect(frame.locator("body")).to_have_attribute("data-state", "idle")
    box = frame.get_by_label("Message", exact=True)
    await box.fill("Hi widget")
    await box.press("Enter")
    await expect(frame.locator(ANSWER)).to_have_text("Hello from the widget.")
    accent = await frame.locator("html").evaluate(
        "html => getComputedStyle(html).getPropertyValue('--accent')"
    )
    assert accent.strip() == "#0a7d5a"
    await page.screenshot(path=screenshot_path("widget-open"))
    await frame.get_by_role("button", name="Close chat").click()
    await expect(page.locator("[data-sluice=panel]")).to_be_hidden()
    assert browsing.page_errors == []

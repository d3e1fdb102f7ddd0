"""Prompt and agent nodes against a real local server speaking each provider's protocol."""

from __future__ import annotations

import asyncio
from contextlib import aclosing
from typing import Any

import pytest

from sluice.events import Status, Token, ToolEnd, ToolStart
from sluice.flows.runner import run_flow
from sluice.flows.state import FlowServices, RunInput
from sluice.integrations.session import UpstreamSession
from sluice.providers.model import ModelConfig
from tests.flows.helpers import collect, final, flow, said
from tests.providers.fake_llm import Call, FakeLLM, Turn

pytestmark = pytest.mark.anyio
PROVIDERS = ["openai", "azure_openai", "anthropic", "ollama", "gemini"]


def model(provider: str, url: str) -> ModelConfig:
    key = None if provider == "ollama" else "secret:LLM_KEY"
    fields = {"deployment": "dep"} if provider == "azure_openai" else {}
    return ModelConfig(id="m", provider=provider, model="fake", base_url=url, api_key=key, **fields)


def services(session: UpstreamSession, llm: FakeLLM, provider: str = "openai") -> dict[str, Any]:
    return {"models": {"m": model(provider, llm.url)}, "env": {"LLM_KEY": "sk-test"}}


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_prompt_streams_before_upstream_finishes(llm: FakeLLM, session, provider):
    hold = asyncio.Event()
    llm.reply(Turn(text=["Hel", "lo ", "there."], hold=hold))
    prompt = flow({"id": "answer", "type": "prompt", "model": "m"})
    run = run_flow(
        prompt, RunInput("hi"), FlowServices(session, **services(session, llm, provider))
    )
    async with asyncio.timeout(5), aclosing(run) as events:
        async for event in events:
            if isinstance(event, Token):
                assert event.text == "Hel"
                hold.set()
                break


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_streamed_text_equals_text_with_streaming_off(llm: FakeLLM, session, provider):
    pieces = ["Grüße", " — line one\n", "line two 🎉", "."]
    llm.reply(Turn(text=pieces), Turn(text=pieces))
    streamed = await collect(
        flow({"id": "a", "type": "prompt", "model": "m"}),
        session,
        **services(session, llm, provider),
    )
    whole = await collect(
        flow({"id": "a", "type": "prompt", "model": "m", "stream": False}),
        session,
        **services(session, llm, provider),
    )
    assert len([e for e in whole if isinstance(e, Token)]) == 1
    assert said(streamed) == said(whole) == final(streamed).text == "".join(pieces)


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_agent_calls_tool_with_split_arguments_and_keeps_preamble_out(
    llm: FakeLLM, session, provider
):
    fragments = ['{"expre', 'ssion": "6 ', "* 7", '"}']
    llm.reply(
        Turn(text=["Let me calculate."], calls=[Call("call_1", "calculator", fragments)]),
        Turn(text=["The answer ", "is 42."]),
    )
    agent = flow({"id": "agent", "type": "agent", "model": "m", "tools": ["calculator"]})
    events = await collect(agent, session, "what is 6*7?", **services(session, llm, provider))
    statuses = [e.text for e in events if isinstance(e, Status)]
    assert "Let me calculate." in statuses
    (start,) = [e for e in events if isinstance(e, ToolStart)]
    assert (start.name, start.input) == ("calculator", {"expression": "6 * 7"})
    (end,) = [e for e in events if isinstance(e, ToolEnd)]
    assert (end.output, end.error) == ("42", None)
    assert said(events) == final(events).text == "The answer is 42."
    assert [t.name for t in final(events).tools] == ["calculator"]
    assert (
        events.index(start)
        < events.index(end)
        < events.index(next(e for e in events if isinstance(e, Token)))
    )


async def test_failing_tool_is_reported_and_the_run_goes_on(llm: FakeLLM, session):
    llm.reply(
        Turn(calls=[Call("c1", "calculator", ['{"expression": "__import__(1)"}'])]),
        Turn(text=["Sorry, I could not compute that."]),
    )
    agent = flow({"id": "agent", "type": "agent", "model": "m", "tools": ["calculator"]})
    events = await collect(agent, session, **services(session, llm))
    (end,) = [e for e in events if isinstance(e, ToolEnd)]
    assert end.error
    assert said(events) == "Sorry, I could not compute that."
    tool_message = llm.requests[1].body["messages"][-1]
    assert tool_message["role"] == "tool"
    assert tool_message["content"].startswith("Error:")


async def test_closing_the_consumer_closes_the_model_request(llm: FakeLLM, session):
    hold = asyncio.Event()
    llm.reply(Turn(text=["first", "never"], hold=hold))
    prompt = flow({"id": "answer", "type": "prompt", "model": "m"})
    run = run_flow(prompt, RunInput("hi"), FlowServices(session, **services(session, llm)))
    async with asyncio.timeout(5):
        async with aclosing(run) as events:
            async for event in events:
                if isinstance(event, Token):
                    break
        await llm.disconnected.wait()

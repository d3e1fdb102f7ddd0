"""Every recorded stream of a chat provider, replayed by the fake server through a chat call."""

from __future__ import annotations

import asyncio
import contextlib

import orjson
import pytest

from sluice.errors import StreamErrorEvent
from sluice.providers.chat import ChatDelta, ReasoningDelta, TextDelta, stream_chat
from sluice.providers.model import ModelConfig
from tests.corpus import CASES, Case
from tests.providers.fake_llm import FakeLLM, Replay

pytestmark = pytest.mark.anyio

PROVIDER_BY_PRESET = {
    "openai": "openai",
    "anthropic": "anthropic",
    "gemini": "gemini",
    "ollama": "ollama",
}


def provider_for(case: Case) -> str | None:
    if case.file.startswith("azure-openai/"):
        return "azure_openai"
    return PROVIDER_BY_PRESET.get(case.preset)


CHAT_CASES = [pytest.param(c, id=c.file) for c in CASES if provider_for(c) is not None]


@pytest.mark.parametrize(
    "case", CHAT_CASES or [pytest.param(None, marks=pytest.mark.skip("no corpus"))]
)
async def test_recorded_stream_gives_its_expected_result(llm: FakeLLM, session, case: Case):
    provider = provider_for(case)
    assert provider is not None
    llm.reply(Replay(case.body, case.content_type))
    model = ModelConfig(id="m", provider=provider, model="m", base_url=llm.url)
    chat = await stream_chat(model, [], session=session)
    deltas: list[ChatDelta] = []
    async with asyncio.timeout(5):
        with contextlib.suppress(StreamErrorEvent):
            async for delta in chat:
                deltas.append(delta)
    result, expected = chat.result, case.expected
    assert (
        "".join(d.text for d in deltas if isinstance(d, TextDelta))
        == result.text
        == expected["text"]
    )
    reasoning = "".join(d.text for d in deltas if isinstance(d, ReasoningDelta))
    assert reasoning == result.reasoning == expected.get("reasoning", "")
    calls = [(c.name, orjson.loads(c.arguments_json)) for c in result.tool_calls]
    assert calls == [
        (t["name"], orjson.loads(t["arguments_json"])) for t in expected.get("tool_calls", [])
    ]
    assert result.finish_reason == expected.get("finish_reason")
    if "usage" in expected:
        assert result.usage is not None
        assert {k: v for k, v in result.usage.items() if v is not None} == expected["usage"]
    assert isinstance(result.error, StreamErrorEvent) == ("error" in expected)

"""Every recorded provider stream, replayed by a local upstream through an integration."""

from __future__ import annotations

import asyncio
import contextlib

import orjson
import pytest

from sluice.errors import StreamErrorEvent
from sluice.integrations.executor import stream_integration
from sluice.integrations.templating import template_context
from tests.integrations.upstream import CORPUS, Upstream, make_integration, pieces

pytestmark = pytest.mark.anyio

PRESETS = {
    "openai-responses": "openai_responses",
    "anthropic": "anthropic",
    "gemini": "gemini",
    "vertex-ai": "gemini",
    "ollama": "ollama",
    "cohere": "cohere",
}
"""Provider folder -> mapping; every other folder streams OpenAI chat chunks."""

CASES = orjson.loads((CORPUS / "MANIFEST.json").read_bytes())["cases"]


def preset_for(case: dict[str, str]) -> str:
    if case["file"].startswith("huggingface-tgi/generate_stream"):
        return "tgi"
    return PRESETS.get(case["provider"], "openai")


@pytest.mark.parametrize("framing", ["manifest", "auto"])
@pytest.mark.parametrize("case", CASES, ids=[case["file"] for case in CASES])
async def test_corpus_case_streams_its_expected_text(upstream: Upstream, session, case, framing):
    body = (CORPUS / case["file"]).read_bytes()
    upstream.reply(pieces(body, 7), content_type=case["content_type"])
    stream_type = case["framing"] if framing == "manifest" else "auto"
    integration = make_integration(
        upstream.url, stream={"type": stream_type, "mapping": preset_for(case)}
    )
    said: list[str] = []
    async with asyncio.timeout(5):
        async with stream_integration(integration, template_context(), session=session) as run:
            with contextlib.suppress(StreamErrorEvent):  # the manifest says below if one was due
                async for piece in run:
                    said.append(piece)
    expected = case["expected"]
    result = run.result
    assert "".join(said) == result.text == expected["text"]
    if "error" in expected:
        assert isinstance(result.error, StreamErrorEvent)
    else:
        assert result.error is None
    assert result.status == 200
    assert result.chunks

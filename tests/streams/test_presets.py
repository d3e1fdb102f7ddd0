"""Golden tests: every recorded provider stream in the shared corpus, mapped by its preset."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from sluice.streams.mapping import build_mapping
from sluice.streams.presets import PRESETS
from sluice.streams.types import Chunk, SSEEvent, StreamState

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "streams"
PRESET_BY_FOLDER = {
    "openai-responses": "openai_responses",
    "anthropic": "anthropic",
    "gemini": "gemini",
    "vertex-ai": "gemini",
    "ollama": "ollama",
    "cohere": "cohere",
}
"""Every other folder (openai, azure-openai, groq, mistral, ...) is OpenAI-compatible."""


def _cases() -> list[Any]:
    manifest = CORPUS / "MANIFEST.json"
    if not manifest.is_file():
        reason = f"the shared stream corpus is absent ({CORPUS})"
        return [pytest.param(None, marks=pytest.mark.skip(reason=reason), id="no-corpus")]
    cases = json.loads(manifest.read_text())["cases"]
    return [pytest.param(case, id=case["file"]) for case in cases]


def _preset_for(file: str) -> str:
    if file.startswith("huggingface-tgi/generate_stream"):
        return "tgi"
    return PRESET_BY_FOLDER.get(file.split("/", 1)[0], "openai")


def _sse_chunk(data: str, event: str) -> Chunk:
    try:
        return Chunk(orjson.loads(data), data, event)
    except orjson.JSONDecodeError:
        return Chunk(data, data, event)


def _frame(body: bytes, framing: str) -> list[Chunk]:
    """Frame with the project's decoders, or with the fallback below while they are missing."""
    try:
        from sluice.streams.ndjson import NDJSONDecoder
        from sluice.streams.sse import SSEDecoder
    except ImportError:
        return _fallback_frame(body, framing)
    if framing == "ndjson":
        decoder = NDJSONDecoder()
        return decoder.decode(body) + decoder.flush()
    sse: SSEDecoder[SSEEvent] = SSEDecoder()
    events = sse.decode(body) + sse.flush()
    return [_sse_chunk(event.data, event.event) for event in events]


def _fallback_frame(body: bytes, framing: str) -> list[Chunk]:
    """FALLBACK ONLY, not a decoder under test: just enough SSE/NDJSON for the corpus."""
    lines = body.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if framing == "ndjson":
        return [Chunk(orjson.loads(line), line) for line in lines if line.strip()]
    chunks: list[Chunk] = []
    data: list[str] = []
    event = ""
    for line in [*lines, ""]:
        if not line:
            if data:
                chunks.append(_sse_chunk("\n".join(data), event or "message"))
            data, event = [], ""
        elif not line.startswith(":"):
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "data":
                data.append(value)
            elif name == "event":
                event = value
    return chunks


def test_preset_names():
    names = {"openai", "openai_responses", "anthropic", "gemini", "ollama", "cohere", "tgi"}
    assert set(PRESETS) == names


@pytest.mark.parametrize("case", _cases())
def test_recorded_stream_maps_to_expected(case):
    expected = case["expected"]
    mapping = build_mapping(_preset_for(case["file"]))
    state = StreamState()
    pieces = []
    # Every chunk is fed, even after an error: the pipeline stops there, but the manifest's
    # expected finish_reason (e.g. the Responses API's "failed") comes after it.
    for chunk in _frame((CORPUS / case["file"]).read_bytes(), case["framing"]):
        pieces.append(mapping.map(chunk, state) or "")
    assert "".join(pieces) == expected["text"]
    assert "".join(state.reasoning) == expected.get("reasoning", "".join(state.reasoning))
    assert state.finish_reason == expected.get("finish_reason")
    assert state.usage == expected.get("usage")
    if "error" in expected:
        assert state.error == expected["error"]
        assert state.error_message
    else:
        assert state.error is None
        assert state.is_done, "a complete recorded stream must reach its end marker"


def test_reasoning_is_found_where_the_manifest_has_it():
    if not (CORPUS / "MANIFEST.json").is_file():
        pytest.skip(f"the shared stream corpus is absent ({CORPUS})")
    cases = json.loads((CORPUS / "MANIFEST.json").read_text())["cases"]
    with_reasoning = [case for case in cases if "reasoning" in case["expected"]]
    assert len(with_reasoning) >= 6
    for case in with_reasoning:
        state = StreamState()
        mapping = build_mapping(_preset_for(case["file"]))
        for chunk in _frame((CORPUS / case["file"]).read_bytes(), case["framing"]):
            mapping.map(chunk, state)
        assert "".join(state.reasoning) == case["expected"]["reasoning"], case["file"]

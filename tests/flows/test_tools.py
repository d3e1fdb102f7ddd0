"""Agent tools: an integration as a tool, a Python function through the entry-point group."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from sluice.events import ToolEnd, ToolStart
from sluice.providers.model import ModelConfig
from sluice.tools.registry import ENTRY_POINT_GROUP, ToolError, entry_point_tool, function_tool
from tests.flows.helpers import collect, flow, said
from tests.integrations.upstream import Upstream, make_integration
from tests.providers.fake_llm import Call, FakeLLM, Turn

pytestmark = pytest.mark.anyio


def openai_model(url: str) -> ModelConfig:
    return ModelConfig(id="m", provider="openai", model="fake", base_url=url, api_key="secret:K")


async def test_integration_tool_fills_its_request_from_the_arguments(
    llm: FakeLLM, upstream: Upstream, session
):
    upstream.reply([b'{"temp": 21, "city": "Paris"}'], content_type="application/json")
    weather = make_integration(
        f"{upstream.url}/weather", method="GET", query={"city": "{{ vars.city }}"}
    )
    llm.reply(
        Turn(calls=[Call("c1", "get_weather", ['{"city": ', '"Paris"}'])]),
        Turn(text=["It is 21 degrees in Paris."]),
    )
    agent = flow(
        {
            "id": "agent",
            "type": "agent",
            "model": "m",
            "tools": [
                {
                    "integration": "weather",
                    "name": "get_weather",
                    "description": "Current weather for a city.",
                    "status": "Checking the weather…",
                    "parameters": {
                        "type": "object",
                        "properties": {"city": {"type": "string"}},
                        "required": ["city"],
                    },
                }
            ],
        }
    )
    events = await collect(
        agent,
        session,
        "weather in Paris?",
        integrations={"weather": weather},
        models={"m": openai_model(llm.url)},
        env={"K": "sk"},
    )
    assert upstream.requests[0].query == {"city": ["Paris"]}
    (end,) = [e for e in events if isinstance(e, ToolEnd)]
    assert end.output == '{"temp": 21, "city": "Paris"}'
    sent = llm.requests[0].body["tools"][0]["function"]
    assert (sent["name"], sent["description"]) == ("get_weather", "Current weather for a city.")
    assert said(events) == "It is 21 degrees in Paris."


def test_entry_point_tool_is_found_and_called(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    package = tmp_path / "weathertools.py"
    package.write_text(
        "def forecast(city: str) -> dict:\n"
        '    """Tomorrow\'s forecast for a city."""\n'
        '    return {"city": city, "sky": "clear"}\n'
    )
    dist = tmp_path / "weathertools-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: weathertools\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        f"[{ENTRY_POINT_GROUP}]\nforecast = weathertools:forecast\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    tool = entry_point_tool("forecast")
    assert tool.description == "Tomorrow's forecast for a city."

    async def call() -> str:
        return await tool.call({"city": "Oslo"})

    assert asyncio.run(call()) == '{"city":"Oslo","sky":"clear"}'
    sys.modules.pop("weathertools", None)


async def test_function_tool_failure_becomes_tool_error():
    def broken(x: int) -> int:
        """Always fails."""
        raise RuntimeError("sensor offline")

    with pytest.raises(ToolError, match="sensor offline"):
        await function_tool(broken).call({"x": 1})


async def test_tool_status_comes_before_its_start(llm: FakeLLM, session):
    llm.reply(Turn(calls=[Call("c", "calculator", ['{"expression": "1+1"}'])]), Turn(text=["2"]))
    events = await collect(
        flow({"id": "a", "type": "agent", "model": "m", "tools": ["calculator"]}),
        session,
        models={"m": openai_model(llm.url)},
        env={"K": "sk"},
    )
    kinds = [type(e).__name__ for e in events]
    assert kinds.index("Status") < kinds.index("ToolStart") < kinds.index("ToolEnd")
    assert next(e for e in events if isinstance(e, ToolStart)).input == {"expression": "1+1"}

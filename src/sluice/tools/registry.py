"""Tools an agent can call: the built-in calculator, integrations, and ``sluice.tools`` plugins.

A tool is a name, a description, JSON-schema parameters, the status text shown while it
runs, and an async ``call(arguments) -> str``. A Python function becomes a tool through
the ``sluice.tools`` entry-point group: the entry point names a callable (sync or async)
taking keyword arguments, with ``__doc__`` as its description and an optional
``parameters`` attribute holding its JSON schema.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, cast

import orjson

from sluice.errors import ConfigError, SluiceError
from sluice.integrations.executor import execute_integration
from sluice.integrations.model import Integration
from sluice.integrations.session import UpstreamSession
from sluice.integrations.templating import template_context
from sluice.tools.calculator import CALCULATOR_TOOL, CalculatorError, calculate

ENTRY_POINT_GROUP = "sluice.tools"

ToolFunction = Callable[[dict[str, Any]], Awaitable[str]]


class ToolError(SluiceError):
    """A tool failed; the message is reported to the model and to the user."""


@dataclass(frozen=True, slots=True)
class Tool:
    """One callable tool, described the way LLM providers want it."""

    name: str
    description: str
    parameters: dict[str, Any]
    call: ToolFunction
    status: str

    def spec(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "parameters": self.parameters}


async def _calculator(arguments: dict[str, Any]) -> str:
    expression = arguments.get("expression")
    if not isinstance(expression, str):
        raise ToolError("expected an 'expression' string")
    try:
        return calculate(expression)
    except CalculatorError as exc:
        raise ToolError(str(exc)) from exc


def calculator_tool() -> Tool:
    spec = CALCULATOR_TOOL
    return Tool(
        name=str(spec["name"]),
        description=str(spec["description"]),
        parameters=cast(dict[str, Any], spec["parameters"]),  # the literal spec above
        call=_calculator,
        status="Calculating…",
    )


BUILTINS: Mapping[str, Callable[[], Tool]] = {"calculator": calculator_tool}


def integration_tool(
    integration: Integration,
    session: UpstreamSession,
    *,
    name: str | None = None,
    description: str | None = None,
    parameters: dict[str, Any] | None = None,
    status: str | None = None,
) -> Tool:
    """An integration as a tool: the model's arguments fill ``vars`` in its request template."""
    schema = parameters or {"type": "object", "properties": {}}
    text = description or integration.description or f"Call {integration.id}."

    async def call(arguments: dict[str, Any]) -> str:
        context = template_context(vars=arguments)
        result = await execute_integration(integration, context, session=session)
        if result.error is not None:
            raise ToolError(result.error.message)
        return result.text

    return Tool(name or integration.id, text, schema, call, status or text)


def entry_point_tool(reference: str, *, status: str | None = None) -> Tool:
    """A Python function registered under the ``sluice.tools`` entry-point group."""
    found = {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}
    if reference not in found:
        names = ", ".join(sorted(found)) or "none installed"
        raise ConfigError(f"no {ENTRY_POINT_GROUP} entry point {reference!r} ({names})")
    function = found[reference].load()
    if not callable(function):
        raise ConfigError(f"entry point {reference!r} is not callable")
    return function_tool(function, name=reference, status=status)


def function_tool(
    function: Callable[..., Any], *, name: str | None = None, status: str | None = None
) -> Tool:
    """Wrap a sync or async Python function taking keyword arguments."""
    description = inspect.getdoc(function) or f"Call {function.__name__}."
    parameters = getattr(function, "parameters", None) or {"type": "object", "properties": {}}

    async def call(arguments: dict[str, Any]) -> str:
        try:
            if inspect.iscoroutinefunction(function):
                value = await function(**arguments)
            else:
                value = await asyncio.to_thread(function, **arguments)
        except ToolError:
            raise
        except Exception as exc:  # plugin code: any failure is reported, the run goes on
            raise ToolError(f"{type(exc).__name__}: {exc}") from exc
        return value if isinstance(value, str) else orjson.dumps(value, default=str).decode()

    return Tool(name or function.__name__, description, parameters, call, status or description)

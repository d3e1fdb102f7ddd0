"""Templates in integration requests: a sandboxed Jinja2 environment, compiled once at load.

A string that is exactly one ``{{ expr }}`` renders to the JSON value of ``expr`` (a list of
messages stays a list); any other string with template syntax renders to a string; every
other value is a constant. ``secrets`` records each value a render reads, so that errors,
logs and reprs can scrub them (``RenderedRequest.scrub``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import orjson
from jinja2 import StrictUndefined, Template, TemplateError, TemplateSyntaxError, Undefined
from jinja2.environment import TemplateExpression
from jinja2.sandbox import ImmutableSandboxedEnvironment

from sluice.errors import ConfigError
from sluice.streams.types import JSONValue

REDACTED = "[redacted]"
_WHOLE_VALUE = re.compile(r"\{\{(?P<expression>.*)\}\}", re.DOTALL)
_NAME_PATH = re.compile(r"\s*([A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*)*)\s*")
_MISSING = object()
_RENDER_ERRORS = (TemplateError, TypeError, ValueError, ArithmeticError, LookupError)
"""What a template can raise while it renders: Jinja's errors and the operators' own."""


class _Variables:
    """``env`` or ``secrets`` in a template: lookup by name only, nothing to enumerate."""

    __slots__ = ("_name", "_seen", "_values")

    def __init__(self, name: str, values: Mapping[str, str], seen: set[str] | None) -> None:
        self._name = name
        self._values = values
        self._seen = seen

    def __getitem__(self, key: str) -> str:
        value = self._values[key]
        if self._seen is not None:
            self._seen.add(value)
        return value

    def __repr__(self) -> str:
        return f"<{self._name}>"

    __str__ = __repr__


class _Undefined(StrictUndefined):
    """StrictUndefined that says ``env.NAME is not set`` instead of naming a Python type."""

    __slots__ = ()

    @property
    def _undefined_message(self) -> str:
        owner = self._undefined_obj
        if isinstance(owner, _Variables):
            return f"{owner._name}.{self._undefined_name} is not set"
        return str(super()._undefined_message)


_environment = ImmutableSandboxedEnvironment(undefined=_Undefined, autoescape=False)


class TemplateNode(Protocol):
    """A compiled value: constant, string template, whole-value template, object or array."""

    def render(self, scope: dict[str, object]) -> JSONValue: ...


@dataclass(frozen=True, slots=True)
class _Constant:
    value: JSONValue

    def render(self, scope: dict[str, object]) -> JSONValue:
        return self.value


@dataclass(frozen=True, slots=True)
class _Text:
    template: Template
    field: str

    def render(self, scope: dict[str, object]) -> JSONValue:
        try:
            return self.template.render(scope)
        except _RENDER_ERRORS as exc:
            raise ConfigError(f"template failed: {exc}", field=self.field) from exc


@dataclass(frozen=True, slots=True)
class _Value:
    expression: TemplateExpression
    field: str

    def render(self, scope: dict[str, object]) -> JSONValue:
        try:
            return _to_json(self.expression(**scope))
        except _RENDER_ERRORS as exc:
            raise ConfigError(f"template failed: {exc}", field=self.field) from exc


@dataclass(frozen=True, slots=True)
class _Lookup:
    """A value that is one variable or path of keys (``{{ messages }}``, ``{{ vars.city }}``):
    looked up in plain dicts, not rendered; anything else (a missing name, an attribute,
    ``env``/``secrets``, whose reads are tracked) goes through the expression. Rendering
    the body of every request was a tenth of the loop's time at 1,000 new streams."""

    path: tuple[str, ...]
    expression: _Value

    def render(self, scope: dict[str, object]) -> JSONValue:
        value: object = scope.get(self.path[0], _MISSING)
        for part in self.path[1:]:
            if type(value) is not dict or hasattr(dict, part):
                return self.expression.render(scope)
            value = value.get(part, _MISSING)
        if value is _MISSING:
            return self.expression.render(scope)  # its error names what is undefined
        try:
            return _to_json(value)
        except TypeError as exc:
            raise ConfigError(f"template failed: {exc}", field=self.expression.field) from exc


@dataclass(frozen=True, slots=True)
class _Object:
    items: tuple[tuple[str, TemplateNode], ...]

    def render(self, scope: dict[str, object]) -> JSONValue:
        return {key: node.render(scope) for key, node in self.items}


@dataclass(frozen=True, slots=True)
class _Array:
    items: tuple[TemplateNode, ...]

    def render(self, scope: dict[str, object]) -> JSONValue:
        return [node.render(scope) for node in self.items]


def compile_template(value: JSONValue, *, field: str) -> TemplateNode:
    """Compile every string in ``value``; raise ``ConfigError`` naming the field on bad syntax."""
    if isinstance(value, str):
        return _compile_string(value, field)
    if isinstance(value, dict):
        items = tuple((k, compile_template(v, field=f"{field}.{k}")) for k, v in value.items())
        if all(isinstance(node, _Constant) for _, node in items):
            return _Constant(value)
        return _Object(items)
    if isinstance(value, list):
        nodes = tuple(compile_template(v, field=f"{field}[{i}]") for i, v in enumerate(value))
        if all(isinstance(node, _Constant) for node in nodes):
            return _Constant(value)
        return _Array(nodes)
    return _Constant(value)


def _compile_string(text: str, field: str) -> TemplateNode:
    if "{{" not in text and "{%" not in text and "{#" not in text:
        return _Constant(text)
    try:
        whole = _WHOLE_VALUE.fullmatch(text)
        if whole is not None and not any(m in whole["expression"] for m in ("{{", "}}", "{%")):
            expression = _environment.compile_expression(
                whole["expression"], undefined_to_none=False
            )
            node = _Value(expression, field)
            path = _NAME_PATH.fullmatch(whole["expression"])
            if path is None or path[1].split(".")[0] in ("env", "secrets"):
                return node
            return _Lookup(tuple(path[1].split(".")), node)
        return _Text(_environment.from_string(text), field)
    except TemplateSyntaxError as exc:
        raise ConfigError(f"template syntax error: {exc.message}", field=field) from exc


def _to_json(value: object) -> JSONValue:
    kind = type(value)
    if kind is str or value is None or kind is int or kind is float or kind is bool:
        return value  # the exact JSON types first, without the ABCs
    if kind is dict:
        return {str(k): _to_json(v) for k, v in value.items()}  # type: ignore[attr-defined]
    if kind is list:
        return [_to_json(v) for v in value]  # type: ignore[attr-defined]
    if isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, Undefined):
        return str(value)  # StrictUndefined: raises UndefinedError naming what is missing
    if isinstance(value, Mapping):
        return {str(k): _to_json(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return [_to_json(v) for v in value]
    raise TypeError(f"expected a JSON value, got {type(value).__name__}")


def template_context(
    *,
    question: str = "",
    history: Iterable[Mapping[str, JSONValue]] = (),
    vars: Mapping[str, JSONValue] | None = None,
    nodes: Mapping[str, object] | None = None,
    env: Mapping[str, str] | None = None,
    secrets: Mapping[str, str] | None = None,
) -> dict[str, object]:
    """The names a template sees; ``messages`` is the history plus the question, OpenAI-shaped.

    ``env`` and ``secrets`` default to the process environment.
    """
    past = [dict(message) for message in history]
    return {
        "question": question,
        "history": past,
        "messages": [*past, {"role": "user", "content": question}],
        "vars": dict(vars or {}),
        "nodes": dict(nodes or {}),
        "env": os.environ if env is None else env,
        "secrets": os.environ if secrets is None else secrets,
    }


def render_template(node: TemplateNode, context: Mapping[str, object]) -> JSONValue:
    """Render a compiled template outside a request (flow nodes: say text, prompts…)."""
    if type(node) is _Constant:  # plain text: no scope to build
        return node.value
    return node.render(_scope(context, set()))


def _scope(context: Mapping[str, object], seen: set[str]) -> dict[str, object]:
    scope = dict(context)
    for name, store in (("env", None), ("secrets", seen)):
        values = context.get(name)
        source = values if isinstance(values, Mapping) else os.environ
        scope[name] = _Variables(name, source, store)
    return scope


def scrub(text: str, secrets: Collection[str]) -> str:
    """``text`` with every secret value replaced by ``[redacted]`` (longest first)."""
    for value in sorted(secrets, key=len, reverse=True):
        if value and value in text:
            text = text.replace(value, REDACTED)
    return text


def scrub_json(value: JSONValue, secrets: Collection[str]) -> JSONValue:
    """``value`` with every string (keys too) scrubbed of secrets."""
    if not secrets:
        return value
    if isinstance(value, str):
        return scrub(value, secrets)
    if isinstance(value, dict):
        return {scrub(k, secrets): scrub_json(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub_json(v, secrets) for v in value]
    return value


def _as_text(value: JSONValue) -> str:
    if isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


@dataclass(frozen=True, slots=True)
class RenderedRequest:
    """A request ready to send; its repr shows no URL query, header, body or secret."""

    method: str
    url: str = field(repr=False)
    headers: dict[str, str] = field(repr=False)
    query: list[tuple[str, str]] = field(repr=False)
    body: JSONValue = field(repr=False)
    secrets: frozenset[str] = field(repr=False)

    def scrub(self, text: str) -> str:
        """``text`` with the secrets this request used replaced by ``[redacted]``."""
        return scrub(text, self.secrets) if self.secrets else text

    def __repr__(self) -> str:
        return f"RenderedRequest({self.method} {self.scrub(self.url.partition('?')[0])})"


@dataclass(frozen=True, slots=True)
class CompiledRequest:
    """The request block of an integration with its templates compiled."""

    method: str
    url: TemplateNode
    headers: TemplateNode
    query: TemplateNode
    body: TemplateNode

    @classmethod
    def compile(
        cls,
        method: str,
        url: str,
        headers: Mapping[str, str],
        query: Mapping[str, JSONValue],
        body: JSONValue,
    ) -> CompiledRequest:
        """Compile each part; ``ConfigError`` names the field (``request.headers.X-Key``)."""
        return cls(
            method,
            compile_template(url, field="request.url"),
            compile_template(dict(headers), field="request.headers"),
            compile_template(dict(query), field="request.query"),
            compile_template(body, field="request.body"),
        )

    def render(
        self, context: Mapping[str, object], *, source: str | None = None
    ) -> RenderedRequest:
        """Render every part; a failing template raises ``ConfigError`` with secrets scrubbed."""
        seen: set[str] = set()
        scope = _scope(context, seen)
        try:
            url = _as_text(self.url.render(scope))
            headers = self.headers.render(scope)
            query = self.query.render(scope)
            body = self.body.render(scope)
        except ConfigError as exc:
            raise ConfigError(scrub(exc.message, seen), source=source, field=exc.field) from None
        return RenderedRequest(
            method=self.method,
            url=url,
            headers={name: _as_text(value) for name, value in headers.items()},
            query=list(_query_pairs(query)),
            body=body,
            secrets=frozenset(seen),
        )


def _query_pairs(query: dict[str, JSONValue]) -> Iterable[tuple[str, str]]:
    for name, value in query.items():
        for item in value if isinstance(value, list) else [value]:
            if item is not None:
                yield name, _as_text(item)

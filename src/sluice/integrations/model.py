"""The ``kind: integration`` model: an HTTP request, its timeouts, and how to read its stream.

Validated once, when a file is loaded or a record saved: the request's templates are
compiled and a custom mapping's JMESPath expression is checked then, so that sending a
request never meets a syntax error. Errors that pydantic cannot place on a field (a template
or an expression) are raised as ``ConfigError`` naming the field themselves.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PositiveFloat,
    PositiveInt,
    PrivateAttr,
    field_validator,
    model_validator,
)

from sluice.errors import ConfigError, ExpressionError
from sluice.integrations.templating import CompiledRequest, RenderedRequest
from sluice.streams.mapping import build_mapping
from sluice.streams.pipeline import StreamSettings
from sluice.streams.types import Buffering, StreamType

HTTPMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _private(model: BaseModel) -> dict[str, Any]:
    """``model``'s private attributes. ``model._name`` goes through pydantic's
    ``__getattr__`` (~3.5 µs, an AttributeError raised and caught inside); every request
    reads two of them before it is sent."""
    private = model.__pydantic_private__
    assert private is not None  # set by validation: every model here has private attributes
    return private


class Timeouts(_Model):
    """Deadlines in seconds: connecting, the first body bytes, the longest gap, the whole."""

    connect_s: PositiveFloat = 10.0
    first_chunk_s: PositiveFloat = 60.0
    gap_s: PositiveFloat = 60.0
    total_s: PositiveFloat = 300.0


class HTTPRequest(_Model):
    """The request an integration sends; strings may hold templates.

    ``timeout_s`` is the shorthand for ``timeouts.total_s``; ``effective_timeouts`` applies it.
    """

    method: HTTPMethod = "POST"
    url: str = Field(min_length=1)
    headers: dict[str, str] = Field(default_factory=dict)
    query: dict[str, Any] = Field(default_factory=dict)
    body: Any = None
    timeouts: Timeouts = Field(default_factory=Timeouts)
    timeout_s: PositiveFloat | None = None

    _effective_timeouts: Timeouts = PrivateAttr()

    @field_validator("method", mode="before")
    @classmethod
    def _upper_method(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _apply_timeout_s(self) -> Self:
        timeouts = self.timeouts
        if self.timeout_s is not None:
            if "total_s" in timeouts.model_fields_set:
                raise ConfigError(
                    "give timeout_s or timeouts.total_s, not both", field="request.timeout_s"
                )
            timeouts = timeouts.model_copy(update={"total_s": self.timeout_s})
        self._effective_timeouts = timeouts
        return self

    @property
    def effective_timeouts(self) -> Timeouts:
        """``timeouts`` with ``timeout_s`` applied as the total."""
        timeouts: Timeouts = _private(self)["_effective_timeouts"]
        return timeouts


class MaxHold(_Model):
    """The most text (``chars``) or time (``ms``) buffering may hold back before releasing."""

    chars: PositiveInt | None = None
    ms: PositiveInt | None = None


class StreamBlock(_Model):
    """How the response streams; an integration without this block is read whole.

    ``mapping`` is ``openai``, ``none``, ``whole``, ``custom`` (with ``expression``) or a
    provider preset (``anthropic``, ``gemini``, ``ollama``…, see ``sluice.streams.presets``).
    """

    type: StreamType = StreamType.SSE
    mapping: str = Field(default="openai", min_length=1)
    expression: str | None = None
    buffering: Buffering = Buffering.NONE
    max_hold: MaxHold = Field(default_factory=MaxHold)

    @model_validator(mode="after")
    def _check_expression(self) -> Self:
        field = "stream.expression"
        if self.mapping == "custom" and not self.expression:
            raise ConfigError("an expression is required when mapping is custom", field=field)
        if self.mapping != "custom" and self.expression is not None:
            raise ConfigError(
                f"an expression is only read when mapping is custom, not {self.mapping}",
                field=field,
            )
        try:
            build_mapping(self.mapping, self.expression)
        except ExpressionError as exc:
            raise _expression_error(exc, field) from exc
        except ConfigError as exc:  # an unknown mapping name; the mapping module lists them
            raise ConfigError(exc.message, field=f"stream.{exc.field or 'mapping'}") from exc
        return self

    def settings(self) -> StreamSettings:
        """The streaming core's view of this block."""
        return StreamSettings(
            type=self.type,
            mapping=self.mapping,
            expression=self.expression,
            buffering=self.buffering,
            max_hold_chars=self.max_hold.chars,
            max_hold_ms=self.max_hold.ms,
        )


def _expression_error(exc: ExpressionError, field: str) -> ExpressionError:
    message = exc.message
    if exc.position is not None and "position" not in message:
        message = f"{message} (at position {exc.position})"
    return ExpressionError(
        message, expression=exc.expression, position=exc.position, source=exc.source, field=field
    )


class Integration(_Model):
    """An HTTP integration: one templated request, streamed (``stream``) or read whole."""

    kind: Literal["integration"] = "integration"
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$", max_length=200)
    description: str | None = None
    request: HTTPRequest
    stream: StreamBlock | None = None

    _compiled: CompiledRequest = PrivateAttr()

    @model_validator(mode="after")
    def _compile_templates(self) -> Self:
        request = self.request
        self._compiled = CompiledRequest.compile(
            request.method, request.url, request.headers, request.query, request.body
        )
        return self

    def render(self, context: Mapping[str, object]) -> RenderedRequest:
        """The request with ``context`` applied (see ``templating.template_context``)."""
        compiled: CompiledRequest = _private(self)["_compiled"]
        return compiled.render(context, source=f"integration {self.id}")

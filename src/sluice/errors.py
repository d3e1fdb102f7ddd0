"""The errors Sluice raises, one tree, subclassed by what the caller does about them.

    SluiceError
    ├── ConfigError                 fix the configuration (names the file, the field, the problem)
    │   └── ExpressionError         a JMESPath expression that does not compile (with its position)
    └── UpstreamError               the upstream failed; report it, maybe retry (``is_transient``)
        ├── UpstreamStatusError     a non-2xx response, with the provider's own message
        ├── UpstreamTimeoutError    connect, first chunk, gap between chunks, or total time
        ├── UpstreamConnectionError the connection could not be made or was reset
        └── StreamError             the response started, then its stream went wrong
            ├── StreamFormatError   a chunk that cannot be parsed
            ├── StreamCutError      the stream ended before its end marker
            └── StreamErrorEvent    the stream itself carried an error object

Defined beside the code that raises them, in the same tree: ``store.StoreError`` (the
database failed; ``RecordNotFoundError`` below it), ``runs.RunNotFoundError`` (no such
run, or its retention passed), ``tools.registry.ToolError`` (reported to the model and
the user), ``api.errors.APIError`` (a refused request, with its HTTP status) and
``client.SluiceClientError`` (the SDK's own tree).

Every ``UpstreamError`` has a stable snake_case ``code`` for wire formats and a
human ``message``; neither ever contains a secret.
"""

from __future__ import annotations


class SluiceError(Exception):
    """Root of every error Sluice raises on purpose."""


class ConfigError(SluiceError):
    """Configuration that cannot be used; the message names where and what."""

    def __init__(self, message: str, *, source: str | None = None, field: str | None = None):
        self.message = message
        self.source = source
        self.field = field
        super().__init__(str(self))

    def __str__(self) -> str:
        where = ": ".join(part for part in (self.source, self.field) if part)
        return f"{where}: {self.message}" if where else self.message

    def __repr__(self) -> str:
        name = type(self).__name__
        return f"{name}({self.message!r}, source={self.source!r}, field={self.field!r})"


class ExpressionError(ConfigError):
    """A JMESPath expression that does not compile; ``position`` is 0-based in the expression."""

    def __init__(
        self,
        message: str,
        *,
        expression: str,
        position: int | None = None,
        source: str | None = None,
        field: str | None = None,
    ):
        self.expression = expression
        self.position = position
        super().__init__(message, source=source, field=field)


class UpstreamError(SluiceError):
    """The upstream request or its stream failed."""

    code = "upstream_error"
    is_transient = False

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class UpstreamStatusError(UpstreamError):
    """A non-2xx response; 408, 429 and 5xx are transient, the rest permanent."""

    code = "upstream_status"

    def __init__(self, status: int, message: str):
        self.status = status
        self.is_transient = status in (408, 409, 425, 429) or status >= 500
        super().__init__(f"upstream answered HTTP {status}: {message}")


class UpstreamTimeoutError(UpstreamError):
    """A deadline passed; ``phase`` is connect, first_chunk, gap or total."""

    code = "timeout"
    is_transient = True

    def __init__(self, phase: str, timeout_s: float):
        self.phase = phase
        self.timeout_s = timeout_s
        super().__init__(f"upstream {phase.replace('_', ' ')} timeout after {timeout_s:g} s")


class UpstreamConnectionError(UpstreamError):
    """The connection could not be made, or broke before the response began."""

    code = "connection_error"
    is_transient = True


class StreamError(UpstreamError):
    """The response began, then its stream went wrong."""

    code = "stream_error"


class StreamFormatError(StreamError):
    """A chunk that cannot be parsed as the configured stream type says it should."""

    code = "bad_chunk"


class StreamCutError(StreamError):
    """The stream ended (or broke) before its end marker arrived."""

    code = "stream_cut"
    is_transient = True


class StreamErrorEvent(StreamError):
    """The stream carried an error object (OpenAI's ``{"error": …}``, Anthropic's ``error``)."""

    code = "upstream_error"

    def __init__(self, message: str, *, error: object = None):
        self.error = error
        super().__init__(message)

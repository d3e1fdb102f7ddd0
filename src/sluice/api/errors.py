"""Errors as HTTP responses: a JSON body ``{"error": {"code", "message", "field"}}``.

Before the first byte of a response a failure is a 4xx/5xx with that body; once a stream
has started it is an ``error`` event followed by the end of the stream (see ``wire``).
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse

from sluice.errors import ConfigError, SluiceError
from sluice.runs import RunNotFoundError
from sluice.store import RecordNotFoundError, StoreError

logger = logging.getLogger(__name__)


class APIError(SluiceError):
    """A request the server refuses, with the status, a stable code and the field at fault."""

    def __init__(self, status: int, code: str, message: str, *, field: str | None = None):
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        super().__init__(message)


def error_response(status: int, code: str, message: str, field: str | None = None) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message, "field": field}}, status_code=status
    )


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(APIError)
    async def _api(request: Request, exc: APIError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message, exc.field)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        location = [str(part) for part in first.get("loc", ()) if part != "body"]
        field = ".".join(location) or None
        message = str(first.get("msg", "invalid request"))
        if first.get("type") == "json_invalid":
            message, field = "the body is not valid JSON", None
        return error_response(422, "invalid_request", message, field)

    @app.exception_handler(ConfigError)
    async def _config(request: Request, exc: ConfigError) -> JSONResponse:
        return error_response(400, "invalid_definition", str(exc), exc.field)

    @app.exception_handler(RunNotFoundError)
    async def _run(request: Request, exc: RunNotFoundError) -> JSONResponse:
        return error_response(404, "run_not_found", f"no run {exc.run_id!r}", "run_id")

    @app.exception_handler(RecordNotFoundError)
    async def _record(request: Request, exc: RecordNotFoundError) -> JSONResponse:
        return error_response(404, "not_found", str(exc))

    @app.exception_handler(StoreError)
    async def _store(request: Request, exc: StoreError) -> JSONResponse:
        logger.error("store failed: %s", exc)
        return error_response(503, "store_unavailable", "the database is not answering")

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed", 413: "body_too_large"}.get(
            exc.status_code, "http_error"
        )
        return error_response(exc.status_code, code, str(exc.detail))

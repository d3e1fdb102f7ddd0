"""``sluice stream decode``: run a raw response body from stdin through the streaming pipeline.

Prints one JSON line per released piece, ``{"piece": "..."}``, as soon as it is released,
then one summary line: ``{"text": "...", "chunks": N}``, or on a stream error
``{"error": {"code": "...", "message": "..."}, "text": "...", "chunks": N}`` and exit 1.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from typing import Annotated, BinaryIO

import orjson
import typer

from sluice.errors import ConfigError, UpstreamError
from sluice.streams.pipeline import StreamReader, StreamSettings, read_batches
from sluice.streams.types import Buffering, StreamType

app = typer.Typer(help="Work with raw upstream streams.", no_args_is_help=True)

_READ_BYTES = 64 * 1024


@app.command()
def decode(
    type_: Annotated[
        StreamType, typer.Option("--type", help="How the body is framed.")
    ] = StreamType.SSE,
    mapping: Annotated[
        str,
        typer.Option(
            help="openai | none | whole | custom | a preset: openai_responses, anthropic, "
            "gemini, ollama, cohere, tgi."
        ),
    ] = "openai",
    expression: Annotated[
        str | None, typer.Option(help="JMESPath expression for --mapping custom.")
    ] = None,
    buffering: Annotated[Buffering, typer.Option(help="When text is released.")] = Buffering.NONE,
    max_hold_chars: Annotated[
        int | None, typer.Option(help="Release held text past this many characters.")
    ] = None,
    max_hold_ms: Annotated[
        int | None, typer.Option(help="Release held text older than this many ms.")
    ] = None,
    content_type: Annotated[
        str | None, typer.Option(help="The response's Content-Type, for --type auto.")
    ] = None,
) -> None:
    """Read a raw response body on stdin; print the pieces a user would receive."""
    settings = StreamSettings(
        type=type_,
        mapping=mapping,
        expression=expression,
        buffering=buffering,
        max_hold_chars=max_hold_chars,
        max_hold_ms=max_hold_ms,
    )
    try:
        reader = StreamReader(settings, content_type=content_type)
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    ok = asyncio.run(_decode(reader, sys.stdin.buffer, sys.stdout.buffer))
    if not ok:
        raise typer.Exit(1)


async def _decode(reader: StreamReader, source: BinaryIO, out: BinaryIO) -> bool:
    summary: dict[str, object] = {}
    try:
        async for pieces in read_batches(_read_chunks(source), reader):
            out.write(b"".join(orjson.dumps({"piece": p}) + b"\n" for p in pieces))
            out.flush()
    except UpstreamError as exc:
        summary["error"] = {"code": exc.code, "message": exc.message}
    summary["text"] = reader.text
    summary["chunks"] = len(reader.chunks)
    out.write(orjson.dumps(summary) + b"\n")
    out.flush()
    return "error" not in summary


async def _read_chunks(source: BinaryIO) -> AsyncIterator[bytes]:
    read = getattr(source, "read1", source.read)
    while data := await asyncio.to_thread(read, _READ_BYTES):
        yield data

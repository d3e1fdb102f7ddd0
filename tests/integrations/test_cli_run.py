"""``sluice integration run`` against a real local upstream, read live as a user would."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integrations.upstream import Upstream


def delta(text: str) -> bytes:
    return b'data: {"choices":[{"delta":{"content":"' + text.encode() + b'"}}]}\n\n'


@pytest.mark.anyio
async def test_run_prints_pieces_live_then_a_summary(upstream: Upstream, tmp_path: Path):
    release = asyncio.Event()
    upstream.reply([delta("Hello"), release, delta(" {{world}}"), b"data: [DONE]\n\n"])
    spec = tmp_path / "hello.yaml"
    spec.write_text(
        "kind: integration\n"
        "id: hello\n"
        "request:\n"
        f"  url: {upstream.url}/v1/chat/completions\n"
        "  method: POST\n"
        "  body: {model: m, stream: true, who: '{{ vars.who }}'}\n"
        "stream: {type: sse, mapping: openai}\n"
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sluice",
        "integration",
        "run",
        str(spec),
        "--var",
        "who=Ada",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    async with asyncio.timeout(30):
        first = await process.stdout.readexactly(len("Hello"))
        assert first == b"Hello"  # printed while the upstream is still holding the rest
        release.set()
        rest, errors = await process.communicate()
    assert process.returncode == 0, errors
    assert rest == b" {{world}}\n"
    assert b"2 chunks, 15 characters" in errors
    assert b'"who":"Ada"' in upstream.requests[0].body


@pytest.mark.anyio
async def test_run_reports_upstream_error_and_exits_1(upstream: Upstream, tmp_path: Path):
    upstream.reply(
        [b'{"error": {"message": "bad key"}}'], status=401, content_type="application/json"
    )
    spec = tmp_path / "x.json"
    spec.write_text(
        '{"kind": "integration", "id": "x", "request": {"url": "' + upstream.url + '"},'
        ' "stream": {"type": "sse"}}'
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sluice",
        "integration",
        "run",
        str(spec),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(30):
        _, errors = await process.communicate()
    assert process.returncode == 1
    assert b"401" in errors
    assert b"bad key" in errors


def test_bad_file_is_a_usage_error(tmp_path: Path):
    spec = tmp_path / "bad.yaml"
    spec.write_text("kind: integration\nid: x\nrequest: {url: 5}\nstream: {mapping: nope}\n")
    done = subprocess.run(
        [sys.executable, "-m", "sluice", "integration", "run", str(spec)],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert b"bad.yaml" in done.stderr

"""``sluice chat`` against the stub server: answers stream, the chat id carries over,
Ctrl+C aborts the answer on the server and the prompt comes back."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import time

import orjson
import typer
from typer.testing import CliRunner

from sluice.commands.chat import chat
from tests.client.server import TOKENS, StubServer

RUN_CHAT = "import typer; from sluice.commands.chat import chat; typer.run(chat)"


def test_chat_streams_answers_and_keeps_the_chat_id(server: StubServer):
    app = typer.Typer()
    app.command()(chat)
    result = CliRunner().invoke(app, ["f1", "--url", server.url], input="hello\nagain\n/quit\n")
    assert result.exit_code == 0, result.output
    assert result.output.count("".join(TOKENS)) == 2
    bodies = [orjson.loads(body) for _, path, _, body in server.requests if "prediction" in path]
    assert "chatId" not in bodies[0]
    assert (
        bodies[1]["chatId"] == bodies[0]["chatId"] if "chatId" in bodies[0] else bodies[1]["chatId"]
    )


def read_until(process: subprocess.Popen[bytes], marker: bytes, deadline_s: float = 5.0) -> bytes:
    """Output up to and including ``marker``; fails after ``deadline_s`` seconds."""
    assert process.stdout is not None
    seen = b""
    end = time.monotonic() + deadline_s
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while marker not in seen:
            remaining = end - time.monotonic()
            assert remaining > 0, f"no {marker!r} in {seen!r}"
            if selector.select(remaining):
                chunk = os.read(process.stdout.fileno(), 4096)
                assert chunk, f"output ended before {marker!r}: {seen!r}"
                seen += chunk
    return seen


def test_ctrl_c_aborts_the_answer_and_keeps_the_session(server: StubServer):
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "200"}
    with subprocess.Popen(
        [sys.executable, "-c", RUN_CHAT, "f1", "--url", server.url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
    ) as process:
        try:
            assert process.stdin is not None
            process.stdin.write(b"slow\n")
            process.stdin.flush()
            read_until(process, TOKENS[0].encode())
            assert server.waiting.wait(5)
            process.send_signal(signal.SIGINT)
            assert server.aborted.wait(5)
            read_until(process, b"(aborted)")
            process.stdin.write(b"/quit\n")
            process.stdin.flush()
            assert process.wait(5) == 0
        finally:
            if process.poll() is None:
                process.kill()

"""``sluice flow run`` on the built-in default flow, offline, as a user would run it."""

from __future__ import annotations

import os
import subprocess
import sys

import orjson

OFFLINE = {
    k: v
    for k, v in os.environ.items()
    if k not in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_API_KEY", "OLLAMA_HOST")
}


def run(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "sluice", "flow", "run", *args],
        capture_output=True,
        timeout=120,
        check=False,
        env=OFFLINE,
    )


def test_default_flow_answers_with_sources_offline():
    done = run("default", "--question", "How do I write a custom mapping expression?")
    assert done.returncode == 0, done.stderr
    assert b"source:" in done.stderr
    assert b"OPENAI_API_KEY" in done.stdout


def test_json_prints_one_event_per_line_in_order():
    done = run("default", "-q", "What is an integration?", "--json")
    assert done.returncode == 0, done.stderr
    types = [orjson.loads(line)["type"] for line in done.stdout.splitlines()]
    assert types[0] == "start"
    assert types[-2:] == ["final", "end"]
    assert "sources" in types
    assert types.count("token") > 5


def test_unknown_flow_is_a_usage_error():
    done = run("nope", "-q", "x")
    assert done.returncode == 2
    assert b"no flow 'nope'" in done.stderr

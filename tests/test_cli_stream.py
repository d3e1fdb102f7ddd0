"""``sluice stream decode`` on every recorded stream, as another program would run it."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import orjson
import pytest

from tests.corpus import Case, corpus_params


def decode(body: bytes, *args: str) -> tuple[int, list[dict[str, Any]]]:
    done = subprocess.run(
        [sys.executable, "-m", "sluice", "stream", "decode", *args],
        input=body,
        capture_output=True,
        timeout=60,
        check=False,
    )
    return done.returncode, [orjson.loads(line) for line in done.stdout.splitlines()]


@pytest.mark.parametrize("case", corpus_params())
def test_decode_prints_pieces_then_summary(case: Case):
    code, lines = decode(case.body, "--type", case.framing, "--mapping", case.preset)
    *pieces, summary = lines
    said = "".join(line["piece"] for line in pieces)
    assert said == summary["text"] == case.expected["text"]
    assert summary["chunks"] > 0
    if case.has_error:
        assert code == 1
        assert set(summary["error"]) == {"code", "message"}
        assert summary["error"]["code"] == "upstream_error"
    else:
        assert code == 0
        assert "error" not in summary


def test_custom_expression_and_word_buffering():
    body = b'{"t": "Hello wor"}\n{"t": "ld, again"}\n'
    code, lines = decode(
        body, "--type", "ndjson", "--mapping", "custom", "--expression", "t", "--buffering", "words"
    )
    assert code == 0
    assert lines == [
        {"piece": "Hello "},
        {"piece": "world, "},
        {"piece": "again"},
        {"text": "Hello world, again", "chunks": 2},
    ]


def test_invalid_expression_is_a_usage_error_naming_the_position():
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "sluice",
            "stream",
            "decode",
            "--mapping",
            "custom",
            "--expression",
            "choices[0.delta",
        ],
        input=b"",
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert b"position" in done.stderr


def test_cut_stream_reports_stream_cut():
    code, lines = decode(b'data: {"choices":[{"delta":{"content":"Hi"}}]}\n\n')
    assert code == 1
    assert lines[-1]["error"]["code"] == "stream_cut"
    assert lines[-1]["text"] == "Hi"

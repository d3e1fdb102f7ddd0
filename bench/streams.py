"""Cost per chunk of the streaming pipeline (framing + mapping + buffering) against a baseline.

The body is OpenAI-shaped SSE, one ~270-byte ``chat.completion.chunk`` per token, fed to
the pipeline in 4 KiB reads. The baseline, measured in the same run, is the least any
reader must do: split the body into lines, ``orjson.loads`` each ``data:`` line and look
up ``choices[0].delta.content`` in the dict. Many short rounds interleave the variants
(in reverse order every other round) so machine noise hits them alike; figures are
medians over rounds, and each ratio is the median of the ratios within a round, which
stays steady when the machine's speed drifts between rounds.

    python bench/streams.py [--chunks 2000] [--rounds 61]

The last line is one JSON object with the ratios the targets are stated in.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from collections.abc import Callable

import orjson

from sluice.streams.pipeline import StreamReader, StreamSettings
from sluice.streams.types import Buffering

READ_BYTES = 4096
WORDS = (
    "the quick brown fox jumps over a lazy dog while Dr. Smith reads 3.14 pages of notes "
    "about streaming servers and their users who wait for every token to arrive"
).split()


def make_body(chunks: int) -> bytes:
    """An OpenAI chat-completions stream of ``chunks`` one-token chunks and ``[DONE]``."""
    parts = []
    for i in range(chunks):
        word = WORDS[i % len(WORDS)]
        token = word + "." if i % 17 == 16 else " " + word
        chunk = {
            "id": "chatcmpl-AbCdEfGhIjKlMnOpQrStUvWxYz012",
            "object": "chat.completion.chunk",
            "created": 1732000000,
            "model": "gpt-4o-mini-2024-07-18",
            "system_fingerprint": "fp_0ba0d124f1",
            "choices": [
                {"index": 0, "delta": {"content": token}, "logprobs": None, "finish_reason": None}
            ],
        }
        parts.append(b"data: " + orjson.dumps(chunk) + b"\n\n")
    parts.append(b"data: [DONE]\n\n")
    return b"".join(parts)


def baseline(body: bytes) -> int:
    said = 0
    for line in body.split(b"\n"):
        if line.startswith(b"data: ") and line != b"data: [DONE]":
            said += len(orjson.loads(line[6:])["choices"][0]["delta"]["content"])
    return said


def pipeline(settings: StreamSettings) -> Callable[[bytes], int]:
    def run(body: bytes) -> int:
        reader = StreamReader(settings)
        said = 0
        for start in range(0, len(body), READ_BYTES):
            for piece in reader.feed(body[start : start + READ_BYTES]):
                said += len(piece)
        for piece in reader.finish():
            said += len(piece)
        assert reader.error is None, reader.error
        return said

    return run


VARIANTS: dict[str, Callable[[bytes], int]] = {
    "baseline": baseline,
    "openai/none": pipeline(StreamSettings(mapping="openai")),
    "custom/none": pipeline(
        StreamSettings(mapping="custom", expression="choices[0].delta.content")
    ),
    "openai/words": pipeline(StreamSettings(mapping="openai", buffering=Buffering.WORDS)),
    "openai/sentences": pipeline(StreamSettings(mapping="openai", buffering=Buffering.SENTENCES)),
}


def measure(chunks: int, rounds: int) -> dict[str, list[float]]:
    """µs per chunk of each variant, one sample per round."""
    body = make_body(chunks)
    expected = baseline(body)
    samples: dict[str, list[float]] = {name: [] for name in VARIANTS}
    order = list(VARIANTS.items())
    for _ in range(rounds):
        for name, run in order:
            gc.collect()
            started = time.perf_counter()
            said = run(body)
            samples[name].append((time.perf_counter() - started) / chunks * 1e6)
            assert said == expected, (name, said, expected)
        order.reverse()
    return samples


def ratio(samples: dict[str, list[float]], name: str, base: str) -> float:
    """The median over rounds of ``name``'s time over ``base``'s in the same round."""
    return statistics.median(a / b for a, b in zip(samples[name], samples[base], strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=2_000)
    parser.add_argument("--rounds", type=int, default=61)
    args = parser.parse_args()
    body_bytes = len(make_body(1)) - len(b"data: [DONE]\n\n")
    print(
        f"{args.chunks} chunks of ~{body_bytes} bytes, {READ_BYTES}-byte reads, "
        f"median of {args.rounds} rounds"
    )
    samples = measure(args.chunks, args.rounds)
    for name, values in samples.items():
        print(
            f"  {name:<18} {statistics.median(values):6.2f} µs/chunk"
            f"  {ratio(samples, name, 'baseline'):5.2f}x baseline"
        )
    ratios = {
        "pipeline_vs_baseline": round(ratio(samples, "openai/none", "baseline"), 3),
        "custom_vs_openai": round(ratio(samples, "custom/none", "openai/none"), 3),
        "words_vs_none": round(ratio(samples, "openai/words", "openai/none"), 3),
        "sentences_vs_none": round(ratio(samples, "openai/sentences", "openai/none"), 3),
    }
    print(orjson.dumps(ratios).decode())


if __name__ == "__main__":
    main()

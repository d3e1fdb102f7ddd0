"""The recorded provider streams in ``shared/corpus/streams`` and the preset each one uses."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
CORPUS_DIR = Path(
    os.environ.get("SLUICE_CORPUS_DIR", REPO_ROOT.parent / "shared" / "corpus" / "streams")
)

_PRESET_BY_FOLDER = {
    "openai-responses": "openai_responses",
    "anthropic": "anthropic",
    "gemini": "gemini",
    "vertex-ai": "gemini",
    "ollama": "ollama",
    "cohere": "cohere",
}


@dataclass(frozen=True)
class Case:
    """One recorded stream and what a correct reader derives from it."""

    file: str
    framing: str
    content_type: str
    expected: dict[str, Any]

    @property
    def path(self) -> Path:
        return CORPUS_DIR / self.file

    @property
    def body(self) -> bytes:
        return self.path.read_bytes()

    @property
    def preset(self) -> str:
        folder, name = self.file.split("/", 1)
        if folder == "huggingface-tgi" and name.startswith("generate_stream"):
            return "tgi"
        return _PRESET_BY_FOLDER.get(folder, "openai")

    @property
    def has_error(self) -> bool:
        return "error" in self.expected


def load_cases() -> list[Case]:
    manifest = CORPUS_DIR / "MANIFEST.json"
    if not manifest.exists():
        return []
    entries = orjson.loads(manifest.read_bytes())["cases"]
    return [Case(e["file"], e["framing"], e["content_type"], e["expected"]) for e in entries]


CASES = load_cases()


def corpus_params() -> list[Any]:
    """``pytest.param`` per case, or one skipped param when the corpus folder is absent."""
    if not CASES:
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"no corpus at {CORPUS_DIR}"))]
    return [pytest.param(case, id=case.file) for case in CASES]

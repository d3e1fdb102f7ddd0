"""Documents cut into passages: Markdown by heading, then at paragraph boundaries.

A passage's ``metadata`` names its ``source`` (the file's path relative to the folder,
with ``/``), its ``title`` (the heading path, ``"Refunds > Timing"``, or the file name
when no heading precedes it) and its ``heading`` (the nearest heading, or ``None``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from sluice.errors import ConfigError
from sluice.events import SourceDocument

MAX_PASSAGE_CHARS = 1500
MARKDOWN_SUFFIXES = frozenset({".md", ".markdown"})
TEXT_SUFFIXES = frozenset({".txt", *MARKDOWN_SUFFIXES})

_ATX_HEADING = re.compile(r" {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*")
_SETEXT_UNDERLINE = re.compile(r" {0,3}(=+|-+)[ \t]*")
_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")
_FRONT_MATTER = re.compile(r"---[ \t]*\r?\n.*?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|$)", re.DOTALL)

_SPLITTERS = (
    (re.compile(r"\n"), "\n"),
    (re.compile(r"(?<=[.!?])\s+"), " "),
    (re.compile(r"\s+"), " "),
)
"""How a paragraph too long for one passage is cut: at lines, then sentences, then words."""


@dataclass(slots=True)
class _Section:
    path: tuple[str, ...]
    blocks: list[str] = field(default_factory=list)


def load_documents(
    folder: str | Path, *, max_chars: int = MAX_PASSAGE_CHARS
) -> list[SourceDocument]:
    """Every Markdown and text file under ``folder``, as passages, in path order.

    Blocking (it reads files): from async code, call it through ``asyncio.to_thread``.
    Hidden files and folders are skipped; bytes that are not UTF-8 are replaced.
    """
    root = Path(folder)
    if not root.is_dir():
        raise ConfigError("expected a folder of documents", source=str(root))
    passages: list[SourceDocument] = []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if path.suffix.lower() not in TEXT_SUFFIXES or not path.is_file():
            continue
        if any(part.startswith(".") for part in relative.parts):
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        is_markdown = path.suffix.lower() in MARKDOWN_SUFFIXES
        passages += split_document(
            text, relative.as_posix(), is_markdown=is_markdown, max_chars=max_chars
        )
    return passages


def split_document(
    text: str, source: str, *, is_markdown: bool = True, max_chars: int = MAX_PASSAGE_CHARS
) -> list[SourceDocument]:
    """Cut one document into passages of at most ``max_chars`` characters.

    Markdown is cut at every heading first (ATX ``#`` and setext underlines; code fences
    are never cut at a ``#`` line), then each section at paragraph boundaries. Heading
    lines are not part of a passage's text: they are its ``title``.
    """
    if max_chars < 1:
        raise ValueError(f"expected max_chars >= 1, got {max_chars}")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if is_markdown:
        sections = _markdown_sections(_FRONT_MATTER.sub("", text, count=1))
    else:
        paragraphs = (block.strip() for block in re.split(r"\n\s*\n", text))
        sections = [_Section((), [paragraph for paragraph in paragraphs if paragraph])]
    fallback_title = PurePosixPath(source).stem.replace("_", " ").replace("-", " ")
    passages = []
    for section in sections:
        metadata = {
            "source": source,
            "title": " > ".join(section.path) or fallback_title,
            "heading": section.path[-1] if section.path else None,
        }
        pieces = [piece for block in section.blocks for piece in _split_long(block, max_chars)]
        passages += [
            SourceDocument(passage, dict(metadata)) for passage in _pack(pieces, "\n\n", max_chars)
        ]
    return passages


def _markdown_sections(text: str) -> list[_Section]:
    """Sections in order, each with its heading path and its blocks (paragraphs, fences)."""
    headings: list[tuple[int, str]] = []
    sections = [_Section(())]
    block: list[str] = []
    fence: str | None = None

    def end_block() -> None:
        if any(line.strip() for line in block):
            sections[-1].blocks.append("\n".join(block).strip("\n"))
        block.clear()

    def start_section(level: int, title: str) -> None:
        end_block()
        while headings and headings[-1][0] >= level:
            headings.pop()
        headings.append((level, title.strip()))
        sections.append(_Section(tuple(title for _, title in headings if title)))

    for line in text.split("\n"):
        if fence is not None:
            block.append(line)
            if line.strip().startswith(fence) and not line.strip().strip(fence[0]):
                fence = None
                end_block()
        elif match := _FENCE.match(line):
            end_block()
            fence = match.group(1)
            block.append(line)
        elif match := _ATX_HEADING.fullmatch(line):
            start_section(len(match.group(1)), match.group(2) or "")
        elif (match := _SETEXT_UNDERLINE.fullmatch(line)) and block:
            title = " ".join(part.strip() for part in block)
            block.clear()
            start_section(1 if match.group(1)[0] == "=" else 2, title)
        elif not line.strip() or _SETEXT_UNDERLINE.fullmatch(line):
            end_block()
        else:
            block.append(line)
    end_block()
    return [section for section in sections if section.blocks]


def _split_long(text: str, max_chars: int, level: int = 0) -> list[str]:
    """Cut ``text`` into pieces of at most ``max_chars``: lines, sentences, words, characters."""
    if len(text) <= max_chars:
        return [text]
    if level == len(_SPLITTERS):
        return [text[start : start + max_chars] for start in range(0, len(text), max_chars)]
    pattern, separator = _SPLITTERS[level]
    pieces = [
        piece
        for part in pattern.split(text)
        if part.strip()
        for piece in _split_long(part, max_chars, level + 1)
    ]
    return _pack(pieces, separator, max_chars)


def _pack(pieces: Iterable[str], separator: str, max_chars: int) -> list[str]:
    """Join consecutive pieces with ``separator`` while the result stays within ``max_chars``."""
    packed: list[str] = []
    current = ""
    for piece in pieces:
        if not current:
            current = piece
        elif len(current) + len(separator) + len(piece) <= max_chars:
            current += separator + piece
        else:
            packed.append(current)
            current = piece
    if current:
        packed.append(current)
    return packed

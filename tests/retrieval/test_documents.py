"""Documents into passages: heading paths, paragraph-boundary cuts, folders of files."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sluice.errors import ConfigError
from sluice.retrieval.documents import load_documents, split_document

GUIDE = """\
---
title: ignored front matter
---
Intro before any heading.

# Refunds

Refunds are paid back to the original card.

## Timing

A refund takes five working days.

### Bank holidays ###

Add one day per bank holiday.

## Exceptions
Gift cards are never refunded.

Shipping
========

We ship worldwide.

Returns
-------

Send it back within 30 days.

---

After a rule.
"""


def passages(text: str) -> list[tuple[str, str]]:
    return [(doc.metadata["title"], doc.page_content) for doc in split_document(text, "guide.md")]


def test_markdown_is_cut_by_heading_with_the_heading_path_as_title():
    assert passages(GUIDE) == [
        ("guide", "Intro before any heading."),
        ("Refunds", "Refunds are paid back to the original card."),
        ("Refunds > Timing", "A refund takes five working days."),
        ("Refunds > Timing > Bank holidays", "Add one day per bank holiday."),
        ("Refunds > Exceptions", "Gift cards are never refunded."),
        ("Shipping", "We ship worldwide."),
        ("Shipping > Returns", "Send it back within 30 days.\n\nAfter a rule."),
    ]


def test_metadata_names_source_title_and_heading():
    docs = split_document("# A\n\n## B\n\ntext\n", "sub/file.md")
    assert [doc.metadata for doc in docs] == [
        {"source": "sub/file.md", "title": "A > B", "heading": "B"},
    ]


def test_text_before_any_heading_has_no_heading():
    (doc,) = split_document("just text", "my_notes-2.md")
    assert doc.metadata == {"source": "my_notes-2.md", "title": "my notes 2", "heading": None}


def test_hash_lines_inside_code_fences_are_not_headings():
    text = "# Setup\n\n```sh\n# install\npip install sluice\n\n# run\n```\nDone.\n"
    assert passages(text) == [
        ("Setup", "```sh\n# install\npip install sluice\n\n# run\n```\n\nDone."),
    ]


def test_hash_without_space_is_not_a_heading():
    assert passages("#hashtag and C#\n") == [("guide", "#hashtag and C#")]


def test_long_sections_are_cut_at_paragraph_boundaries():
    paragraphs = [f"Paragraph {i} " + "word " * 30 for i in range(10)]
    docs = split_document("# T\n\n" + "\n\n".join(p.strip() for p in paragraphs), "t.md")
    assert len(docs) > 1
    assert all(len(doc.page_content) <= 1500 for doc in docs)
    assert all(doc.page_content.startswith("Paragraph") for doc in docs)
    joined = "\n\n".join(doc.page_content for doc in docs)
    assert joined == "\n\n".join(p.strip() for p in paragraphs)


def test_paragraph_longer_than_a_passage_is_cut_at_sentences():
    text = " ".join(f"Sentence number {i} is here." for i in range(100))
    docs = split_document(text, "t.txt", is_markdown=False, max_chars=200)
    assert all(len(doc.page_content) <= 200 for doc in docs)
    assert all(doc.page_content.endswith("here.") for doc in docs)
    assert " ".join(doc.page_content for doc in docs) == text


def test_text_files_are_not_read_as_markdown():
    docs = split_document("# not a heading\n\nsecond", "notes.txt", is_markdown=False)
    assert [doc.page_content for doc in docs] == ["# not a heading\n\nsecond"]
    assert docs[0].metadata["title"] == "notes"


@given(st.text(), st.integers(min_value=1, max_value=300))
def test_any_text_gives_passages_within_the_limit(text, max_chars):
    for doc in split_document(text, "x.md", max_chars=max_chars):
        assert 0 < len(doc.page_content) <= max_chars
        assert doc.page_content.strip()


def test_load_documents_reads_markdown_and_text_in_path_order(tmp_path):
    (tmp_path / "b.md").write_text("# B\n\nbee\n")
    (tmp_path / "a.txt").write_text("ay\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c.markdown").write_text("sea\n")
    (tmp_path / "image.png").write_bytes(b"\x89PNG")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "d.md").write_text("secret\n")
    docs = load_documents(tmp_path)
    assert [(doc.metadata["source"], doc.page_content) for doc in docs] == [
        ("a.txt", "ay"),
        ("b.md", "bee"),
        ("sub/c.markdown", "sea"),
    ]


def test_load_documents_replaces_bytes_that_are_not_utf8(tmp_path):
    (tmp_path / "a.md").write_bytes(b"caf\xe9 ok")
    (doc,) = load_documents(tmp_path)
    assert doc.page_content == "caf\ufffd ok"


def test_load_documents_from_missing_folder_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="expected a folder of documents"):
        load_documents(tmp_path / "missing")

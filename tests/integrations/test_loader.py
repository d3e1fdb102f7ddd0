"""Loading integration files: valid shapes, and errors that name file, field and problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from sluice.errors import ConfigError, ExpressionError
from sluice.integrations.loader import load_integrations, read_documents
from sluice.integrations.model import Timeouts
from sluice.streams.types import Buffering, StreamType

VALID = """\
kind: integration
id: openai-chat
request:
  method: post
  url: "{{ env.OPENAI_BASE_URL }}/chat/completions"
  headers: {Authorization: "Bearer {{ secrets.OPENAI_API_KEY }}"}
  body: {model: gpt-4o-mini, stream: true, messages: "{{ messages }}"}
  timeout_s: 60
stream:
  type: sse
  mapping: openai
  buffering: words
  max_hold: {chars: 200, ms: 500}
---
kind: flow
id: support
nodes: []
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def load_one(tmp_path: Path, text: str, name: str = "chat.yaml"):
    return load_integrations([write(tmp_path, name, text)])


def test_yaml_file_loads_its_integrations_and_skips_other_kinds(tmp_path):
    (integration,) = load_one(tmp_path, VALID).values()
    assert integration.id == "openai-chat"
    assert integration.request.method == "POST"
    assert integration.request.effective_timeouts == Timeouts(total_s=60)
    assert integration.stream is not None
    settings = integration.stream.settings()
    assert (settings.type, settings.mapping, settings.buffering) == (
        StreamType.SSE,
        "openai",
        Buffering.WORDS,
    )
    assert (settings.max_hold_chars, settings.max_hold_ms) == (200, 500)


def test_json_file_and_folder_scan(tmp_path):
    write(
        tmp_path, "a.json", '[{"kind": "integration", "id": "a", "request": {"url": "http://h"}}]'
    )
    write(tmp_path, "b.yml", "kind: integration\nid: b\nrequest: {url: 'http://h'}\n")
    write(tmp_path, "notes.txt", "not config")
    loaded = load_integrations([tmp_path])
    assert sorted(loaded) == ["a", "b"]
    assert loaded["a"].stream is None
    assert loaded["a"].request.effective_timeouts == Timeouts()


def test_bad_yaml_names_the_file_and_line(tmp_path):
    with pytest.raises(ConfigError, match=r"chat\.yaml: invalid YAML at line 3, column \d+"):
        load_one(tmp_path, "kind: integration\nid: x\nrequest: {url: [}\n")


def test_bad_json_names_the_file_and_line(tmp_path):
    with pytest.raises(ConfigError, match=r"chat\.json: invalid JSON at line 2, column \d+"):
        load_one(tmp_path, '{"kind": "integration",\n "id": }', name="chat.json")


def test_missing_field_is_named(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_one(tmp_path, "kind: integration\nid: x\nrequest: {method: GET}\n")
    assert caught.value.field == "request.url"
    assert str(caught.value).endswith("chat.yaml: request.url: this field is required")


def test_wrong_enum_names_field_choices_and_value(tmp_path):
    text = "kind: integration\nid: x\nrequest: {url: 'http://h'}\nstream: {type: sse-ish}\n"
    with pytest.raises(ConfigError) as caught:
        load_one(tmp_path, text)
    assert caught.value.field == "stream.type"
    assert "'sse', 'ndjson', 'lines' or 'auto'" in caught.value.message
    assert "'sse-ish'" in caught.value.message


def test_unknown_mapping_is_named(tmp_path):
    text = "kind: integration\nid: x\nrequest: {url: 'http://h'}\nstream: {mapping: openia}\n"
    with pytest.raises(ConfigError, match=r"chat\.yaml: stream\.mapping: unknown mapping 'openia'"):
        load_one(tmp_path, text)


def test_unknown_field_is_named(tmp_path):
    text = "kind: integration\nid: x\nrequest: {url: 'http://h', timout_s: 3}\n"
    with pytest.raises(ConfigError, match=r"request\.timout_s: unknown field"):
        load_one(tmp_path, text)


def test_several_problems_are_all_reported(tmp_path):
    text = (
        "kind: integration\nid: x\nrequest: {url: 'http://h', timeouts: {gap_s: -1}}\n"
        "stream: {buffering: lots}\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_one(tmp_path, text)
    assert "request.timeouts.gap_s" in str(caught.value)
    assert "stream.buffering" in str(caught.value)


def test_bad_expression_names_file_field_and_position(tmp_path):
    text = (
        "kind: integration\nid: x\nrequest: {url: 'http://h'}\n"
        "stream: {mapping: custom, expression: 'choices[0].delta.'}\n"
    )
    with pytest.raises(ExpressionError) as caught:
        load_one(tmp_path, text)
    error = caught.value
    assert (error.field, error.expression) == ("stream.expression", "choices[0].delta.")
    assert error.position is not None
    assert str(error.source).endswith("chat.yaml")
    assert "position" in str(error)


def test_good_expression_loads(tmp_path):
    text = (
        "kind: integration\nid: x\nrequest: {url: 'http://h'}\n"
        "stream: {type: ndjson, mapping: custom, expression: 'message.content'}\n"
    )
    (integration,) = load_one(tmp_path, text).values()
    assert integration.stream is not None
    assert integration.stream.settings().expression == "message.content"


@pytest.mark.parametrize(
    ("stream", "problem"),
    [
        ("{mapping: custom}", "an expression is required when mapping is custom"),
        ("{mapping: openai, expression: a.b}", "an expression is only read when mapping is custom"),
    ],
)
def test_expression_goes_with_custom_only(tmp_path, stream, problem):
    text = f"kind: integration\nid: x\nrequest: {{url: 'http://h'}}\nstream: {stream}\n"
    with pytest.raises(ConfigError, match=rf"chat\.yaml: stream\.expression: {problem}"):
        load_one(tmp_path, text)


def test_template_syntax_error_names_the_field(tmp_path):
    text = "kind: integration\nid: x\nrequest: {url: 'http://h', body: {q: '{{ question'}}\n"
    with pytest.raises(ConfigError, match=r"chat\.yaml: request\.body\.q: template syntax error"):
        load_one(tmp_path, text)


def test_timeout_s_and_total_s_together_are_refused(tmp_path):
    text = (
        "kind: integration\nid: x\n"
        "request: {url: 'http://h', timeout_s: 5, timeouts: {total_s: 9}}\n"
    )
    with pytest.raises(ConfigError, match=r"request\.timeout_s: give timeout_s or"):
        load_one(tmp_path, text)


def test_duplicate_ids_name_both_places(tmp_path):
    doc = "kind: integration\nid: dup\nrequest: {url: 'http://h'}\n"
    with pytest.raises(ConfigError, match=r"\(document 2\): id: duplicate id 'dup', first defined"):
        load_one(tmp_path, doc + "---\n" + doc)


def test_document_without_kind_is_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"chat\.yaml: kind: expected a string"):
        load_one(tmp_path, "id: x\n")


def test_document_that_is_not_a_mapping_is_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"chat\.yaml: expected a mapping, got list"):
        read_documents(write(tmp_path, "chat.yaml", "- a\n- b\n"))

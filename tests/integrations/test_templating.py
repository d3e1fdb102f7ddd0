"""Request templates: whole values, strings, the sandbox, env and secrets."""

from __future__ import annotations

from typing import Any

import pytest

from sluice.errors import ConfigError
from sluice.integrations.templating import (
    REDACTED,
    CompiledRequest,
    compile_template,
    scrub,
    scrub_json,
    template_context,
)

SECRET = "sk-live-0123456789abcdef"


def render(value: object, **context: Any) -> object:
    compiled = CompiledRequest.compile("POST", "http://h/", {}, {}, value)
    return compiled.render(template_context(**context)).body


def test_whole_value_template_renders_to_the_json_value():
    messages = [{"role": "user", "content": "hi"}]
    assert render("{{ messages }}", question="hi") == messages
    assert render("{{vars.n}}", vars={"n": 3}) == 3
    assert render("{{ vars.flag }}", vars={"flag": False}) is False


def test_string_template_renders_to_a_string():
    assert render("n={{ vars.n }}", vars={"n": 3}) == "n=3"
    assert render("{{ vars.a }}{{ vars.b }}", vars={"a": 1, "b": 2}) == "12"
    assert render(" {{ vars.n }}", vars={"n": 3}) == " 3"


def test_templates_apply_inside_objects_and_arrays_and_leave_the_rest_alone():
    body = {"n": 1, "items": ["{{ question }}", None, {"q": "{{ question }}"}]}
    assert render(body, question="why?") == {
        "n": 1,
        "items": ["why?", None, {"q": "why?"}],
    }


def test_template_free_values_compile_to_constants():
    node = compile_template({"a": [1, "x"]}, field="request.body")
    assert node.render({}) == {"a": [1, "x"]}


def test_messages_are_the_history_then_the_question():
    context = template_context(question="and?", history=[{"role": "assistant", "content": "a"}])
    assert context["messages"] == [
        {"role": "assistant", "content": "a"},
        {"role": "user", "content": "and?"},
    ]


def test_syntax_error_names_the_field_at_compile_time():
    with pytest.raises(ConfigError, match=r"^request\.body\.messages: template syntax error"):
        compile_template({"messages": "{{ messages"}, field="request.body")


def test_undefined_names_fail_with_the_name():
    with pytest.raises(ConfigError, match=r"request\.body: .*'nope' is undefined"):
        render("{{ nope }}")
    with pytest.raises(ConfigError, match=r"env\.SLUICE_SURELY_UNSET_VAR is not set"):
        render("x{{ env.SLUICE_SURELY_UNSET_VAR }}")


def test_env_reads_the_environment(monkeypatch):
    monkeypatch.setenv("SLUICE_TEST_BASE", "http://example.test")
    assert render("{{ env.SLUICE_TEST_BASE }}/v1") == "http://example.test/v1"


@pytest.mark.parametrize(
    "template",
    [
        "{{ messages.append(1) }}",
        "{{ ''.__class__.__mro__ }}",
        "{{ secrets.items() }}",
        "{{ env }}",
    ],
)
def test_the_sandbox_refuses_mutation_introspection_and_enumeration(template):
    with pytest.raises(ConfigError):
        render(template, secrets={"KEY": SECRET})


def test_rendered_request_records_secrets_and_hides_them_from_repr():
    compiled = CompiledRequest.compile(
        "POST",
        "https://api.test/v1?key={{ secrets.KEY }}",
        {"Authorization": "Bearer {{ secrets.KEY }}"},
        {},
        None,
    )
    request = compiled.render(template_context(secrets={"KEY": SECRET}))
    assert request.headers == {"Authorization": f"Bearer {SECRET}"}
    assert request.secrets == frozenset({SECRET})
    assert SECRET not in repr(request)
    assert request.scrub(f"echo {SECRET}") == f"echo {REDACTED}"


def test_render_error_naming_a_secret_is_scrubbed():
    compiled = CompiledRequest.compile("GET", "{{ vars[secrets.KEY] }}", {}, {}, None)
    with pytest.raises(ConfigError) as caught:
        compiled.render(template_context(secrets={"KEY": SECRET}), source="integration x")
    assert SECRET not in str(caught.value)
    assert str(caught.value).startswith("integration x: request.url: ")


def test_query_values_render_to_strings_and_lists_repeat():
    compiled = CompiledRequest.compile(
        "GET", "http://h/", {}, {"a": ["{{ vars.n }}", 2], "b": True, "c": None}, None
    )
    request = compiled.render(template_context(vars={"n": 1}))
    assert request.query == [("a", "1"), ("a", "2"), ("b", "true")]


def test_scrub_replaces_longest_secrets_first():
    assert scrub("abcdef abc", ["abc", "abcdef"]) == f"{REDACTED} {REDACTED}"
    assert scrub_json({"k": ["x abc"], "abc": 1}, ["abc"]) == {
        "k": [f"x {REDACTED}"],
        REDACTED: 1,
    }

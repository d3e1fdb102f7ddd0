"""Provider mapping presets, as data: which chunk says what, in rules one generic mapper reads.

A rule picks a value out of a chunk with a JMESPath ``path`` and sends it to a
``Target``. Rules nest: the inner rules of a rule read the value its path picked (each
item of it, with ``each``), so a shared prefix such as ``choices[0]`` is walked once.
A preset maps only the answer text to ``TEXT``; reasoning goes to ``REASONING`` and is
never mixed into the answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Literal

JSONKind = Literal["string", "number", "boolean", "array", "object"]


class Target(StrEnum):
    """Where a rule's value goes."""

    TEXT = "text"
    """Said to the user: the value as text (see ``expressions.to_text``)."""
    REASONING = "reasoning"
    """Appended to ``state.reasoning`` as text."""
    FINISH_REASON = "finish_reason"
    """``state.finish_reason``, the provider's own value."""
    USAGE = "usage"
    """``state.usage`` replaced by the object."""
    USAGE_UPDATE = "usage_update"
    """``state.usage`` overlaid with the object's members (Anthropic's message_delta)."""
    DONE = "done"
    """A true value (JMESPath truth) is the end marker: ``state.is_done``."""
    ERROR = "error"
    """A true value is an error the stream carries; the first one is kept."""


@dataclass(frozen=True, slots=True)
class Rule:
    """One value out of a chunk and where it goes.

    ``path`` is a JMESPath expression read from the enclosing value (the chunk's data at
    the top); a null value does nothing. ``event`` limits a top-level rule to SSE events
    of that name. ``when`` is a JMESPath condition read from the enclosing value; the rule
    applies only when it is true. ``only`` limits the rule to values of one JSON kind.
    ``to`` and the inner ``rules`` apply to the value, or with ``each`` to every item of
    an array value.
    """

    path: str
    to: Target | None = None
    rules: tuple[Rule, ...] = ()
    event: str | None = None
    when: str | None = None
    only: JSONKind | None = None
    each: bool = False


@dataclass(frozen=True, slots=True)
class Preset:
    """A named mapping: its rules, its end sentinel and whether its streams must end marked."""

    name: str
    rules: tuple[Rule, ...]
    needs_end_marker: bool = True
    sentinel: str | None = "[DONE]"
    """A chunk that is exactly this text (not JSON) ends the stream and says nothing."""


STREAM_CONVENTIONS = (
    Rule("error", to=Target.ERROR),
    Rule("@", to=Target.ERROR, event="error"),
)
"""What every mapping reads besides its own rules: an ``error`` member or an ``error`` event."""

_OPENAI = Preset(
    "openai",
    (
        Rule(
            "choices[0]",
            rules=(
                Rule(
                    "delta",
                    rules=(
                        Rule("content", to=Target.TEXT, only="string"),
                        # Mistral's reasoning models send content as a list of typed parts.
                        Rule(
                            "content",
                            each=True,
                            rules=(
                                Rule("text", to=Target.TEXT, when="type == 'text'"),
                                Rule(
                                    "thinking",
                                    when="type == 'thinking'",
                                    each=True,
                                    rules=(Rule("text", to=Target.REASONING),),
                                ),
                            ),
                        ),
                        Rule("refusal", to=Target.TEXT),
                        Rule("reasoning_content", to=Target.REASONING),  # DeepSeek, vLLM
                        Rule("reasoning", to=Target.REASONING),  # OpenRouter, Groq
                    ),
                ),
                Rule("finish_reason", to=Target.FINISH_REASON),
                # TGI's messages API and some other compatible servers never send [DONE].
                Rule("finish_reason", to=Target.DONE),
            ),
        ),
        Rule("usage", to=Target.USAGE, only="object"),
        *STREAM_CONVENTIONS,
    ),
)

_RESPONSE_END = tuple(
    rule
    for event in ("response.completed", "response.incomplete", "response.failed")
    for rule in (
        Rule("response.status", to=Target.FINISH_REASON, event=event),
        Rule("response.usage", to=Target.USAGE, event=event, only="object"),
        Rule("response.error", to=Target.ERROR, event=event),
        Rule("@", to=Target.DONE, event=event),
    )
)

_OPENAI_RESPONSES = Preset(
    "openai_responses",
    (
        Rule("delta", to=Target.TEXT, event="response.output_text.delta"),
        Rule("delta", to=Target.TEXT, event="response.refusal.delta"),
        Rule("delta", to=Target.REASONING, event="response.reasoning_summary_text.delta"),
        Rule("delta", to=Target.REASONING, event="response.reasoning_text.delta"),
        *_RESPONSE_END,
        *STREAM_CONVENTIONS,
    ),
    sentinel=None,
)

_ANTHROPIC = Preset(
    "anthropic",
    (
        Rule("delta.text", to=Target.TEXT, event="content_block_delta"),
        Rule("delta.thinking", to=Target.REASONING, event="content_block_delta"),
        Rule("message.usage", to=Target.USAGE, event="message_start", only="object"),
        Rule("usage", to=Target.USAGE_UPDATE, event="message_delta", only="object"),
        Rule("delta.stop_reason", to=Target.FINISH_REASON, event="message_delta"),
        Rule("@", to=Target.DONE, event="message_stop"),
        *STREAM_CONVENTIONS,
    ),
    sentinel=None,
)

_GEMINI = Preset(
    "gemini",
    (
        Rule(
            "candidates[0]",
            rules=(
                Rule(
                    "content.parts",
                    each=True,
                    rules=(
                        Rule("text", to=Target.TEXT, when="!thought"),
                        Rule("text", to=Target.REASONING, when="thought"),
                    ),
                ),
                Rule("finishReason", to=Target.FINISH_REASON),
                Rule("finishReason", to=Target.DONE),
            ),
        ),
        # A blocked prompt answers with promptFeedback and no candidates at all.
        Rule("promptFeedback.blockReason", to=Target.FINISH_REASON),
        Rule("promptFeedback.blockReason", to=Target.DONE),
        Rule("usageMetadata", to=Target.USAGE, only="object"),
        *STREAM_CONVENTIONS,
    ),
    sentinel=None,
)

_OLLAMA_USAGE = (
    "{prompt_eval_count: prompt_eval_count, eval_count: eval_count,"
    " total_duration: total_duration, load_duration: load_duration,"
    " prompt_eval_duration: prompt_eval_duration, eval_duration: eval_duration}"
)

_OLLAMA = Preset(
    "ollama",
    (
        Rule("message.content", to=Target.TEXT),  # /api/chat
        Rule("response", to=Target.TEXT),  # /api/generate
        Rule("message.thinking", to=Target.REASONING),
        Rule("thinking", to=Target.REASONING),
        Rule("done_reason", to=Target.FINISH_REASON),
        Rule(_OLLAMA_USAGE, to=Target.USAGE, when="eval_count"),
        Rule("done", to=Target.DONE),
        *STREAM_CONVENTIONS,
    ),
    sentinel=None,
)

_COHERE = Preset(
    "cohere",
    (
        Rule("delta.message.content.text", to=Target.TEXT, event="content-delta"),
        Rule("delta.message.content.thinking", to=Target.REASONING, event="content-delta"),
        Rule("delta.finish_reason", to=Target.FINISH_REASON, event="message-end"),
        Rule("delta.usage", to=Target.USAGE, event="message-end", only="object"),
        Rule("@", to=Target.DONE, event="message-end"),
        *STREAM_CONVENTIONS,
    ),
    sentinel=None,
)

_TGI = Preset(
    "tgi",
    (
        Rule("token.text", to=Target.TEXT, when="!(token.special)"),
        Rule(
            "details",
            rules=(
                Rule("finish_reason", to=Target.FINISH_REASON),
                Rule(
                    "{generated_tokens: generated_tokens, input_length: input_length}",
                    to=Target.USAGE,
                ),
                Rule("@", to=Target.DONE),
            ),
        ),
        *STREAM_CONVENTIONS,
    ),
)

PRESETS: Mapping[str, Preset] = MappingProxyType(
    {
        preset.name: preset
        for preset in (
            _OPENAI,
            _OPENAI_RESPONSES,
            _ANTHROPIC,
            _GEMINI,
            _OLLAMA,
            _COHERE,
            _TGI,
        )
    }
)
"""The provider presets by name; ``openai`` also serves Azure and OpenAI-compatible servers."""

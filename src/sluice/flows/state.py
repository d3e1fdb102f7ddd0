"""What one run of a flow reads and writes: its input, the services it uses, its outputs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sluice.events import SourceDocument, Token, ToolUse
from sluice.flows.model import Flow
from sluice.integrations.model import Integration
from sluice.integrations.session import UpstreamSession
from sluice.integrations.templating import TemplateNode, render_template, template_context
from sluice.providers.model import ModelConfig
from sluice.retrieval.types import Retriever

NODE_SEPARATOR = "\n\n"
"""Between the texts of two speaking nodes, so "answer" + "Anything else?" stay apart."""


@dataclass(frozen=True, slots=True)
class RunInput:
    """One user turn: the message, the conversation before it and per-request variables."""

    question: str
    history: tuple[Mapping[str, str], ...] = ()
    """Earlier messages as ``{"role": "user"|"assistant", "content": ...}``, oldest first."""
    vars: Mapping[str, Any] = field(default_factory=dict)
    chat_id: str | None = None


@dataclass(slots=True)
class FlowServices:
    """What nodes need from outside: the HTTP session, definitions, retrievers and models."""

    session: UpstreamSession
    integrations: Mapping[str, Integration] = field(default_factory=dict)
    models: Mapping[str, ModelConfig] = field(default_factory=dict)
    default_model: ModelConfig | None = None
    retrievers: dict[str, Retriever] = field(default_factory=dict)
    env: Mapping[str, str] | None = None
    """Template ``env``/``secrets``; None reads the process environment."""


@dataclass(slots=True)
class RunState:
    """The run in progress: outputs of finished nodes, what was said, tools and sources."""

    flow: Flow
    input: RunInput
    services: FlowServices
    vars: dict[str, Any] = field(default_factory=dict)
    nodes: dict[str, dict[str, Any]] = field(default_factory=dict)
    said: list[str] = field(default_factory=list)
    tools: list[ToolUse] = field(default_factory=list)
    sources: list[SourceDocument] = field(default_factory=list)
    usage: dict[str, Any] | None = None
    _node_has_spoken: bool = False

    @property
    def text(self) -> str:
        """Everything said so far: the answer."""
        return "".join(self.said)

    @property
    def keeps_chunks(self) -> bool:
        """Whether node outputs keep their raw chunks (``nodes.<id>.chunks``): only a later
        node can read them, so a flow of one node keeps none (they were most of a turn's
        memory)."""
        return len(self.flow.nodes) > 1

    def begin_node(self) -> None:
        self._node_has_spoken = False

    def say(self, text: str) -> Token:
        """Record ``text`` as said and return its Token (the first of a node is separated)."""
        if not self._node_has_spoken and self.said:
            text = NODE_SEPARATOR + text
        self._node_has_spoken = True
        self.said.append(text)
        return Token(text)

    def context(self) -> dict[str, object]:
        """The names templates see."""
        history: Sequence[Mapping[str, str]] = self.input.history
        return template_context(
            question=self.input.question,
            history=[dict(message) for message in history],
            vars=self.vars,
            nodes=self.nodes,
            env=self.services.env,
            secrets=self.services.env,
        )

    def render(self, node: TemplateNode) -> Any:
        return render_template(node, self.context())

    def add_usage(self, usage: Mapping[str, Any] | None) -> None:
        if usage:
            self.usage = {**(self.usage or {}), **usage}

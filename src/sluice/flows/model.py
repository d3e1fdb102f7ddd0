"""The ``kind: flow`` model: an ordered list of nodes, validated once when loaded.

Strings in nodes are templates (see ``integrations.templating``); they see ``question``,
``history``, ``messages``, ``vars``, ``env``, ``secrets`` and ``nodes.<id>.<output>``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, model_validator

from sluice.streams.types import Buffering

NodeId = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=100)]
"""A node id is a template identifier, so ``nodes.<id>`` reads naturally."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Node(_Model):
    id: NodeId
    stream: bool = True
    """Stream this node's text token by token; ``false`` says it whole when the node ends."""


class SayNode(_Node):
    """Says a templated text."""

    type: Literal["say"]
    text: str


class IntegrationNode(_Node):
    """Runs an integration; its mapped pieces are said unless ``speak`` is false."""

    type: Literal["integration"]
    integration: str
    speak: bool = True


class PromptNode(_Node):
    """One LLM call: a system prompt, the conversation so far and the user's message."""

    type: Literal["prompt"]
    model: str | None = None
    """A ``kind: model`` id; by default the model configured through the environment."""
    system: str = "You are a helpful assistant."
    prompt: str = "{{ question }}"
    history: bool = True
    speak: bool = True
    buffering: Buffering = Buffering.NONE
    params: dict[str, Any] = Field(default_factory=dict)


class ToolRef(_Model):
    """A tool an agent may call: a built-in, an integration, or a ``sluice.tools`` entry point."""

    name: str | None = None
    builtin: str | None = None
    integration: str | None = None
    entry_point: str | None = None
    description: str | None = None
    parameters: dict[str, Any] | None = None
    status: str | None = None
    """Shown while the tool runs ("Searching the web…"); defaults to its description."""

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        sources = [s for s in (self.builtin, self.integration, self.entry_point) if s]
        if len(sources) != 1:
            raise ValueError("expected exactly one of builtin, integration, entry_point")
        return self


class AgentNode(_Node):
    """An LLM with tools, looping until the model answers or ``max_steps`` calls are made."""

    type: Literal["agent"]
    model: str | None = None
    system: str = "You are a helpful assistant. Use the tools when they help."
    prompt: str = "{{ question }}"
    history: bool = True
    tools: list[str | ToolRef] = Field(default_factory=list)
    max_steps: PositiveInt = 5
    intermediate: Literal["status", "hidden"] = "status"
    """What becomes of text the model writes before deciding to call a tool."""
    buffering: Buffering = Buffering.NONE
    params: dict[str, Any] = Field(default_factory=dict)


class RetrieveNode(_Node):
    """Searches documents; emits Sources and exposes them as ``nodes.<id>.sources``."""

    type: Literal["retrieve"]
    source: str = "docs"
    """``docs`` (Sluice's own documentation) or a folder of Markdown/text files."""
    query: str = "{{ question }}"
    k: PositiveInt = 4


class SetNode(_Node):
    """Sets flow variables (``vars.<name>``) from templates."""

    type: Literal["set"]
    values: dict[str, Any]


class ConditionNode(_Node):
    """Jumps to ``then`` when ``if`` renders truthy, else to ``else`` (or the next node)."""

    type: Literal["condition"]
    if_: str = Field(alias="if")
    then: str | None = None
    else_: str | None = Field(default=None, alias="else")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


Node = Annotated[
    SayNode | IntegrationNode | PromptNode | AgentNode | RetrieveNode | SetNode | ConditionNode,
    Field(discriminator="type"),
]


class Flow(_Model):
    """A bot: nodes run in order (conditions may jump); only speaking nodes reach the user."""

    kind: Literal["flow"] = "flow"
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$", max_length=200)
    name: str | None = None
    description: str | None = None
    public: bool = False
    """Anyone may run a public flow; a private one needs an API key."""
    stop_on_disconnect: bool = False
    """Abort the run when its client disconnects (by default it finishes and is stored)."""
    vars: dict[str, Any] = Field(default_factory=dict)
    nodes: list[Node] = Field(min_length=1)

    @model_validator(mode="after")
    def _check_ids(self) -> Self:
        ids = [node.id for node in self.nodes]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"duplicate node ids: {', '.join(duplicates)}")
        for node in self.nodes:
            if isinstance(node, ConditionNode):
                for target in (node.then, node.else_):
                    if target is not None and target not in ids:
                        raise ValueError(f"node {node.id!r} jumps to unknown node {target!r}")
        return self

    @property
    def can_stream(self) -> bool:
        """Whether any speaking node streams (Flowise's ``isStreaming``)."""
        return any(node.stream for node in self.nodes if _speaks(node))


def _speaks(node: object) -> bool:
    if isinstance(node, SayNode | AgentNode):
        return True
    if isinstance(node, IntegrationNode | PromptNode):
        return node.speak
    return False

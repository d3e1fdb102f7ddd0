"""The built-in ``default`` flow: an assistant over Sluice's own documentation.

With a model configured through the environment it retrieves passages and a prompt node
streams an answer grounded in them, citing their titles; with none it streams the best
matching passages with their titles and says how to configure a model. It works offline
on first run.
"""

from __future__ import annotations

from sluice.flows.model import Flow, PromptNode, RetrieveNode, SayNode

DEFAULT_FLOW_ID = "default"

_PASSAGES = """\
{% for s in nodes.search.sources %}[{{ loop.index }}] {{ s.metadata.title }} \
({{ s.metadata.source }})
{{ s.pageContent }}

{% endfor %}"""

_SYSTEM = (
    "You are Sluice's documentation assistant. Answer the user's question using only the "
    "passages below, concisely, and cite the passages you used as [1], [2]. If they do not "
    "answer it, say so.\n\nPassages:\n" + _PASSAGES
)

_NO_MODEL = (
    "{% if nodes.search.sources %}Here is what the Sluice documentation says:\n\n"
    + _PASSAGES
    + "{% else %}I found nothing about that in the Sluice documentation.\n\n{% endif %}"
    "_No model is configured, so these are the best matching passages. To get written "
    "answers, set OPENAI_API_KEY (and OPENAI_BASE_URL for a compatible server), "
    "ANTHROPIC_API_KEY, or OLLAMA_HOST, and restart._"
)


def default_flow(*, has_model: bool) -> Flow:
    """The default flow, with or without a model to write the answer."""
    answer: PromptNode | SayNode
    if has_model:
        answer = PromptNode(type="prompt", id="answer", system=_SYSTEM)
    else:
        answer = SayNode(type="say", id="answer", text=_NO_MODEL)
    return Flow(
        id=DEFAULT_FLOW_ID,
        name="Sluice documentation assistant",
        description="Answers questions about Sluice from its own documentation.",
        public=True,
        nodes=[RetrieveNode(type="retrieve", id="search", source="docs", k=3), answer],
    )

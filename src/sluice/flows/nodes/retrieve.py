"""The retrieve node: search documents, emit Sources, expose them to later templates."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from pathlib import Path

from sluice.events import Event, Sources
from sluice.flows.model import RetrieveNode
from sluice.flows.nodes.basic import compiled
from sluice.flows.state import RunState
from sluice.retrieval.documents import load_documents
from sluice.retrieval.fts import FTSRetriever
from sluice.retrieval.types import Retriever

_building: dict[str, asyncio.Lock] = {}


async def run_retrieve(node: RetrieveNode, state: RunState) -> AsyncGenerator[Event, None]:
    query = state.render(compiled(node.query, f"nodes.{node.id}.query"))
    retriever = await retriever_for(node.source, state)
    found = await retriever.search(str(query or ""), node.k)
    state.sources += found
    state.nodes[node.id] = {
        "sources": [document.to_dict() for document in found],
        "text": "\n\n".join(document.page_content for document in found),
    }
    if found:
        yield Sources(tuple(found))


async def retriever_for(source: str, state: RunState) -> Retriever:
    """The retriever for ``source``, indexed once and kept in the services."""
    retrievers = state.services.retrievers
    if source in retrievers:
        return retrievers[source]
    lock = _building.setdefault(source, asyncio.Lock())
    async with lock:
        if source not in retrievers:
            folder = docs_folder() if source == "docs" else Path(source)
            documents = await asyncio.to_thread(load_documents, folder)
            retriever = FTSRetriever()
            await retriever.add(documents)
            retrievers[source] = retriever
    return retrievers[source]


def docs_folder() -> Path:
    """Sluice's own documentation: shipped in the package, or the checkout's ``docs/``."""
    package = Path(__file__).resolve().parents[2]
    shipped = package / "docs"
    if shipped.is_dir():
        return shipped
    return package.parents[1] / "docs"

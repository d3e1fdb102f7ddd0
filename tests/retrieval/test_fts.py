"""FTS5 retrieval: BM25 ranking, title weight, safe queries from any user text."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sluice.events import SourceDocument
from sluice.retrieval.documents import load_documents
from sluice.retrieval.fts import FTSRetriever, match_query
from sluice.retrieval.types import Retriever

DOCS = {
    "refunds.md": """\
# Refunds

Refunds are paid back to the card you paid with.

## Timing

A refund takes five working days to reach your bank account.
""",
    "shipping.md": """\
# Shipping

We ship to every country in Europe. Parcels travel with a tracked courier.

## Costs

Shipping is free above 50 euros; below that it costs 4 euros.
""",
    "account.md": """\
# Account

Change your password from the account page. Your bank details are never stored.
""",
}


@pytest.fixture
async def retriever(tmp_path: Path) -> AsyncIterator[FTSRetriever]:
    for name, text in DOCS.items():
        (tmp_path / name).write_text(text)
    fts = FTSRetriever()
    await fts.add(await asyncio.to_thread(load_documents, tmp_path))
    yield fts
    fts.close()


async def titles(retriever: Retriever, query: str, k: int = 5) -> list[str]:
    async with asyncio.timeout(5):
        return [doc.metadata["title"] for doc in await retriever.search(query, k)]


@pytest.mark.anyio
async def test_most_relevant_passage_ranks_first(retriever):
    assert (await titles(retriever, "How long until my refund reaches the bank?"))[0] == (
        "Refunds > Timing"
    )
    assert (await titles(retriever, "what does shipping cost"))[0] == "Shipping > Costs"


@pytest.mark.anyio
async def test_results_keep_the_passage_text_and_metadata(retriever):
    (doc, *_) = await retriever.search("password", 3)
    assert doc == SourceDocument(
        "Change your password from the account page. Your bank details are never stored.",
        {"source": "account.md", "title": "Account", "heading": "Account"},
    )


@pytest.mark.anyio
async def test_stemming_matches_other_forms_of_a_word(retriever):
    assert (await titles(retriever, "refunding"))[0].startswith("Refunds")


@pytest.mark.anyio
@pytest.mark.parametrize(("title_weight", "first"), [(1.0, "Delivery"), (5.0, "Parcel")])
async def test_title_outweighs_the_same_word_in_a_body(title_weight, first):
    fts = FTSRetriever(title_weight=title_weight)
    await fts.add(
        [
            SourceDocument(
                "Your parcel arrives soon; the parcel is tracked.", {"title": "Delivery"}
            ),
            SourceDocument("Tracked all the way to your door.", {"title": "Parcel"}),
        ]
    )
    assert (await titles(fts, "parcel"))[0] == first
    fts.close()


@pytest.mark.anyio
async def test_k_limits_the_number_of_results(retriever):
    assert len(await titles(retriever, "refund shipping bank password euros", k=2)) == 2
    assert len(await titles(retriever, "refund shipping bank password euros", k=100)) == 5
    assert await titles(retriever, "refund", k=0) == []


@pytest.mark.anyio
@pytest.mark.parametrize("query", ["", "   ", "?!", "the and of", "***", '""'])
async def test_query_with_nothing_to_search_finds_nothing(retriever, query):
    assert await titles(retriever, query) == []


@pytest.mark.anyio
@pytest.mark.parametrize(
    "query",
    [
        '"refund',
        "refund AND NOT shipping",
        "NEAR(refund bank, 2)",
        "refund*",
        "title:refund",
        "^refund",
        "refund OR",
        "(refund",
        "refund'); DROP TABLE passages; --",
        "{title body}: refund",
        "-refund +bank",
    ],
)
async def test_fts_syntax_in_user_text_is_searched_as_words(retriever, query):
    assert (await titles(retriever, query))[0].startswith("Refunds")


@settings(max_examples=300)
@given(st.text())
def test_any_text_makes_a_valid_fts_query(text):
    expression = match_query(text)
    if expression is None:
        return
    fts = FTSRetriever()
    fts._connection.execute("SELECT * FROM passages WHERE passages MATCH ?", (expression,))
    fts.close()


def test_match_query_quotes_lowercased_words_without_stop_words_or_duplicates():
    assert match_query('What is "NEAR" the Refund? refund!') == '"near" OR "refund"'


def test_match_query_keeps_at_most_max_terms():
    assert match_query("one two three four", max_terms=2) == '"one" OR "two"'


@pytest.mark.anyio
async def test_index_in_a_file_survives_reopening(tmp_path):
    path = str(tmp_path / "index.sqlite")
    fts = FTSRetriever(path)
    await fts.add([SourceDocument("kept on disk", {"title": "Disk"})])
    fts.close()
    reopened = FTSRetriever(path)
    assert await titles(reopened, "disk") == ["Disk"]
    reopened.close()


@pytest.mark.anyio
async def test_concurrent_searches_share_one_connection(retriever):
    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(titles(retriever, "refund bank")) for _ in range(20)]
    assert len({tuple(task.result()) for task in tasks}) == 1


def test_fts_retriever_is_a_retriever():
    fts: Retriever = FTSRetriever()
    assert isinstance(fts, FTSRetriever)
    fts.close()

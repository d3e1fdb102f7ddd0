"""Following a run: batches of every event after a position, until its end, with idle ticks.

A follower pulls from the log; nothing is pushed to it. A client that reads slower than
events arrive leaves them in the log (which holds the run anyway, for resuming) and gets
them as one bigger batch on its next read, at most ``max_batch`` events: that bound is all
a follower ever holds. With ``coalesce``, such a backlog comes with each run of tokens
merged into one (``coalesce_tokens``), so a slow client gets fewer, larger events.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence

from sluice.events import End, Start, Token
from sluice.runs.log import LogEntry, RunLog


async def follow(
    log: RunLog,
    run_id: str,
    after_seq: int = 0,
    *,
    idle_s: float = 15.0,
    max_batch: int = 512,
    coalesce: bool = False,
    hold_start_s: float = 0.0,
) -> AsyncGenerator[list[LogEntry], None]:
    """Yield batches of the run's events after ``after_seq``, oldest first, each once.

    Ends after the batch holding ``End``, or when the run is closed with nothing left.
    Yields an empty batch when ``idle_s`` seconds pass without an event: the caller's cue
    to send a keep-alive. Raises ``RunNotFoundError`` (on the first step) for an unknown run.

    With ``coalesce``, a backlog (events already waiting when the caller comes back for
    more: it took longer to handle the last batch than the run took to say them, or the
    last batch was cut at ``max_batch``) has its tokens merged. The first batch and every
    batch the caller had to wait for keep each token as it was said, so a reader that
    keeps up sees the run's own tokens.

    With ``hold_start_s``, a first batch holding only the run's ``Start`` waits up to that
    long for what comes next (the first token, usually) and goes out with it: one write
    to the client instead of two when the answer starts quickly.
    """
    if max_batch < 1:
        raise ValueError(f"max_batch: expected >= 1, got {max_batch}")
    is_first = True
    hold_s = hold_start_s
    while True:
        batch: list[LogEntry] = []
        if coalesce and not is_first:
            batch = await log.read(run_id, after_seq, wait_s=0, limit=max_batch)
            if len(batch) > 1:
                batch = coalesce_tokens(batch)
        is_first = False
        if not batch:
            batch = await log.read(run_id, after_seq, wait_s=idle_s, limit=max_batch)
            if hold_s > 0 and max_batch > 1 and len(batch) == 1 and isinstance(batch[0][1], Start):
                batch += await log.read(run_id, batch[0][0], wait_s=hold_s, limit=max_batch - 1)
            hold_s = 0.0  # only ever the first batch
        if batch:
            yield batch
            after_seq = batch[-1][0]
            if isinstance(batch[-1][1], End):
                await log.read_to_end(run_id)
                return
        elif await log.is_closed(run_id):
            return
        else:
            yield batch


def coalesce_tokens(batch: Sequence[LogEntry]) -> list[LogEntry]:
    """Merge each run of consecutive tokens into one, numbered as its last.

    The text is unchanged (the merged token is the concatenation), and a client resuming
    from the merged number misses nothing, since every event it stands for came before.
    """
    out: list[LogEntry] = []
    tokens: list[Token] = []
    last = 0
    for seq, event in batch:
        if isinstance(event, Token):
            tokens.append(event)
            last = seq
            continue
        if tokens:
            out.append((last, _merge(tokens)))
            tokens = []
        out.append((seq, event))
    if tokens:
        out.append((last, _merge(tokens)))
    return out


def _merge(tokens: list[Token]) -> Token:
    return tokens[0] if len(tokens) == 1 else Token("".join(token.text for token in tokens))

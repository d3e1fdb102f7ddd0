"""The relay benchmark: Sluice against a direct stream and a bare relay, on one fake upstream.

Starts the fake upstream (``upstream.py``), the bare aiohttp relay (``bare.py``),
``sluice serve`` on flows whose integration and model point at the upstream (and, with
``--with-litellm``, a LiteLLM proxy in its own virtual environment), then measures each
scenario with ``loadgen.py`` against every target, reads the server's CPU time
(``/proc/<pid>/stat``) and peak RSS (``VmHWM``), stops everything it started and prints a
table of medians over ``--rounds`` rounds. Ratios are taken within a round, then their
median. The last line is one JSON object with the ratios the targets are stated in.

    python bench/relay/run.py [--quick] [--rounds 3] [--with-litellm]

S1 latency: 1 stream at a time, 200 requests x 50 tokens, no delay. The targets are taken
in turn, 20 requests to one (after 2 unmeasured) and then the next, so that the machine's
drift falls on all alike (``--s1-blocks``: all 200 to one target, then the next).
S2 throughput: 32 concurrent x 2,000 tokens, no delay.
S3 concurrency: 1,000 concurrent x 100 tokens, 20 ms apart.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import logging
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import orjson

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.relay.procs import (  # after the path set-up above
    Service,
    free_port,
    peak_rss_mb,
    reset_peak_rss,
    run_interleaved,
    run_loadgen,
    start_litellm,
)

HERE = Path(__file__).resolve().parent
REQUEST = b'{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}'
logger = logging.getLogger("bench.relay")


@dataclass(frozen=True)
class Scenario:
    name: str
    requests: int
    concurrency: int
    tokens: int
    delay_ms: int
    warmup: int

    @property
    def path(self) -> str:
        return f"/s/{self.tokens}/{self.delay_ms}/1/v1"


FULL = (
    Scenario("s1", 200, 1, 50, 0, 20),
    Scenario("s2", 32, 32, 2000, 0, 2),
    Scenario("s3", 1000, 1000, 100, 20, 0),
)
QUICK = (
    Scenario("s1", 60, 1, 50, 0, 10),
    Scenario("s2", 16, 16, 500, 0, 1),
    Scenario("s3", 200, 200, 50, 20, 0),
)

S1_RUN_LENGTH = 20
"""S1's requests to one target in a row, in the interleaved measure."""
S1_RUN_WARMUP = 2
"""Unmeasured requests before each run of them (the server warms up again)."""

FLOWS = """\
kind: integration
id: {name}
request:
  url: "{upstream}{path}/chat/completions"
  body: {{model: gpt-4o-mini, stream: true, messages: "{{{{ messages }}}}"}}
stream: {{type: sse, mapping: openai}}
---
kind: model
id: {name}
provider: openai
model: gpt-4o-mini
base_url: "{upstream}{path}"
---
kind: flow
id: {name}
public: true
nodes:
  - {{id: answer, type: integration, integration: {name}}}
"""


@dataclass(frozen=True)
class Target:
    name: str
    service: Service | None  # whose CPU and memory are measured (None: the upstream's)
    wire: str

    def request(self, base: str, scenario: Scenario) -> tuple[str, bytes]:
        if self.name in ("direct", "bare"):
            return f"{base}{scenario.path}/chat/completions", REQUEST
        if self.name == "sluice-relay":  # --layers: bench/relay/layers.py
            return f"{base}/bench/relay{scenario.path}/chat/completions", REQUEST
        if self.name == "sluice-integration":
            return f"{base}/bench/integration/{scenario.name}", b"{}"
        if self.name == "litellm":
            body = {
                "model": scenario.name,
                "stream": True,
                "messages": [{"role": "user", "content": "hi"}],
            }
            return f"{base}/v1/chat/completions", orjson.dumps(body)
        if self.wire == "flowise":
            body = {"question": "hi", "streaming": True}
            return f"{base}/api/v1/prediction/{scenario.name}", orjson.dumps(body)
        body = {"message": "hi", "chatModelId": scenario.name, "stream": True}
        return f"{base}/api/chat", orjson.dumps(body)


def measure(target: Target, base: str, scenario: Scenario, upstream: Service) -> dict[str, float]:
    service = target.service or upstream
    url, body = target.request(base, scenario)
    if scenario.warmup:  # first requests (lazy imports, new connections) are not measured
        warmup = replace(scenario, requests=scenario.warmup, concurrency=1, warmup=0)
        run_loadgen(url, body, target.wire, warmup)
        scenario = replace(scenario, warmup=0)
    if scenario.name == "s3":
        reset_peak_rss(service.pid)
    cpu_before = service.cpu_s()
    summary = run_loadgen(url, body, target.wire, scenario)
    cpu_s = service.cpu_s() - cpu_before
    tokens = summary["tokens"] or 1
    return figures_of(summary, service, 1000 * cpu_s / scenario.requests, 1000 * cpu_s / tokens)


def figures_of(
    summary: dict[str, Any], service: Service, cpu_ms_per_request: float, cpu_s_per_1k: float
) -> dict[str, float]:
    """One target's row of the table from its load generator summary and server CPU."""
    ttft, total = summary["ttft_ms"], summary["total_ms"]
    return {
        "ttft_p50": ttft["p50"] or float("nan"),
        "ttft_p99": ttft["p99"] or float("nan"),
        "total_p50": total["p50"] or float("nan"),
        "tokens_per_s": summary["tokens_per_s"] or 0.0,
        "errors": summary["errors"],
        "cpu_ms_per_request": cpu_ms_per_request,
        "cpu_s_per_1k_tokens": cpu_s_per_1k,
        "peak_rss_mb": peak_rss_mb(service.pid),
    }


def measure_interleaved(
    targets: list[tuple[Target, str]],
    scenario: Scenario,
    upstream: Service,
    *,
    seed: int,
    run_length: int = S1_RUN_LENGTH,
    run_warmup: int = S1_RUN_WARMUP,
) -> dict[str, dict[str, float]]:
    """``measure`` for targets taken in turn (S1): ``run_length`` requests to one target
    (after ``run_warmup`` unmeasured ones), then the next, each cycle in a new order. The
    drift of a noisy machine so falls on every target alike instead of on whichever block
    of 200 it hits, and each server is still measured warm. A server's CPU per request is
    its CPU over every request it served, warm-ups included (both Sluice wires together;
    the upstream's for ``direct``, which serves every target's)."""
    specs = []
    for target, base in targets:
        url, body = target.request(base, scenario)
        specs.append({"name": target.name, "url": url, "body": body.decode(), "wire": target.wire})
    if scenario.warmup:
        run_interleaved(specs, replace(scenario, requests=scenario.warmup), seed, 1, 0)
    served: dict[int, tuple[Service, int]] = {upstream.pid: (upstream, len(targets))}
    for target, _ in targets:
        if target.service is not None:
            service, count = served.get(target.service.pid, (target.service, 0))
            served[service.pid] = (service, count + 1)
    cpu_before = {pid: service.cpu_s() for pid, (service, _) in served.items()}
    summaries = run_interleaved(specs, replace(scenario, warmup=0), seed, run_length, run_warmup)
    per_target = scenario.requests + run_warmup * -(-scenario.requests // run_length)
    cpu_ms = {
        pid: 1000 * (service.cpu_s() - cpu_before[pid]) / (count * per_target)
        for pid, (service, count) in served.items()
    }
    figures = {}
    for target, _ in targets:
        service = target.service or upstream
        per_request = cpu_ms[service.pid]
        figures[target.name] = figures_of(
            summaries[target.name], service, per_request, per_request / scenario.tokens
        )
    return figures


def ratios(r: dict[str, dict[str, dict[str, float]]], sluice: list[str]) -> dict[str, float]:
    """The target ratios of one round; for several Sluice wires, the worst of them."""
    s1, s2, s3 = r["s1"], r["s2"], r["s3"]
    bare_added = s1["bare"]["ttft_p50"] - s1["direct"]["ttft_p50"]
    return {
        "s1_added_ttft_vs_bare": max(
            (s1[t]["ttft_p50"] - s1["direct"]["ttft_p50"]) / bare_added for t in sluice
        ),
        "s2_tokens_vs_bare": min(
            s2[t]["tokens_per_s"] / s2["bare"]["tokens_per_s"] for t in sluice
        ),
        "s3_ttft_p99_vs_bare": max(s3[t]["ttft_p99"] / s3["bare"]["ttft_p99"] for t in sluice),
        "s3_errors": sum(s3[t]["errors"] for t in sluice),
        "s3_peak_rss_mb": max(s3[t]["peak_rss_mb"] for t in sluice),
    }


def layer_ratios(rounds: list[dict[str, dict[str, dict[str, float]]]], targets: list[str]) -> str:
    """Each target's S1 added TTFT p50 over the bare relay's (per round, then the median)."""
    lines = ["s1 added TTFT p50 vs bare (median of rounds; per round)"]
    for target in targets:
        per_round = []
        for r in rounds:
            s1 = r["s1"]
            direct = s1["direct"]["ttft_p50"]
            per_round.append((s1[target]["ttft_p50"] - direct) / (s1["bare"]["ttft_p50"] - direct))
        each = " ".join(f"{x:.2f}" for x in per_round)
        lines.append(f"  {target:<20} {statistics.median(per_round):.2f}   ({each})")
    return "\n".join(lines)


COLUMNS = {
    "s1": ("ttft_p50", "ttft_p99", "total_p50", "cpu_ms_per_request", "errors"),
    "s2": ("tokens_per_s", "cpu_s_per_1k_tokens", "ttft_p50", "errors"),
    "s3": ("errors", "ttft_p99", "tokens_per_s", "peak_rss_mb"),
}


def table(
    rounds: list[dict[str, dict[str, dict[str, float]]]],
    targets: list[str],
    s1_only: list[str] | None = None,
) -> str:
    lines = []
    for scenario, columns in COLUMNS.items():
        if scenario not in rounds[0]:
            continue
        lines.append(f"\n{scenario}     " + "  ".join(f"{c:>20}" for c in columns))
        for target in [*targets, *(s1_only or [])] if scenario == "s1" else targets:
            cells = []
            for column in columns:
                value = statistics.median(r[scenario][target][column] for r in rounds)
                cells.append(f"{value:>20.3f}")
            lines.append(f"  {target:<18}" + "  ".join(cells))
    return "\n".join(lines)


@contextlib.contextmanager
def services(
    args: argparse.Namespace, work: Path, scenarios: tuple[Scenario, ...]
) -> Iterator[dict[str, tuple[Service, str]]]:
    ports = {name: free_port() for name in ("upstream", "bare", "sluice", "granian", "litellm")}
    upstream_url = f"http://127.0.0.1:{ports['upstream']}"
    flows = work / "flows"
    flows.mkdir()
    for s in scenarios:
        text = FLOWS.format(name=s.name, upstream=upstream_url, path=s.path)
        (flows / f"{s.name}.yaml").write_text(text)
    python = sys.executable
    started: dict[str, tuple[Service, str]] = {}
    with contextlib.ExitStack() as stack:
        upstream = stack.enter_context(
            Service.start(
                "upstream",
                [python, str(HERE / "upstream.py"), "--port", str(ports["upstream"])],
                ports["upstream"],
            )
        )
        started["direct"] = (upstream, upstream_url)
        bare = stack.enter_context(
            Service.start(
                "bare",
                [
                    python,
                    str(HERE / "bare.py"),
                    "--port",
                    str(ports["bare"]),
                    "--upstream",
                    upstream_url,
                ],
                ports["bare"],
            )
        )
        started["bare"] = (bare, f"http://127.0.0.1:{ports['bare']}")
        database_url = migrated_database(work / "sluice.db")
        # With --layers, the same app and uvicorn options, with the bench's layer routes.
        server = [str(HERE / "layers.py")] if args.layers else ["-m", "sluice", "serve"]
        sluice_cmd = [
            python,
            *server,
            "--port",
            str(ports["sluice"]),
            "--flows",
            str(flows),
            "--database-url",
            database_url,
            "--log-level",
            "warning",
            *(["--upstream", upstream_url] if args.layers else []),
        ]
        sluice = stack.enter_context(
            Service.start(
                "sluice", sluice_cmd, ports["sluice"], ping="/api/v1/ping", wrap=args.profile
            )
        )
        base = f"http://127.0.0.1:{ports['sluice']}"
        started["sluice-flowise"] = (sluice, base)
        started["sluice-chat"] = (sluice, base)
        started["sluice-relay"] = started["sluice-integration"] = (sluice, base)
        if args.with_granian:
            granian = stack.enter_context(
                start_granian(work, flows, ports["granian"])  # never under --profile
            )
            started["granian-flowise"] = (granian, f"http://127.0.0.1:{ports['granian']}")
        if args.with_litellm:
            litellm = stack.enter_context(
                start_litellm(work, scenarios, upstream_url, ports["litellm"])
            )
            started["litellm"] = (litellm, f"http://127.0.0.1:{ports['litellm']}")
        yield started


def migrated_database(path: Path) -> str:
    """A new SQLite database at ``path``, migrated first as a deployment does (the server
    then starts without Alembic); its URL."""
    database_url = f"sqlite+aiosqlite:///{path}"
    subprocess.run(
        [sys.executable, "-m", "sluice", "db", "upgrade", "--database-url", database_url],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return database_url


def start_granian(work: Path, flows: Path, port: int) -> contextlib.AbstractContextManager[Service]:
    """Sluice's app (``create_app``, settings from ``SLUICE_*``) under granian instead of
    uvicorn: one worker, uvloop, on its own migrated database. Not under ``--profile``: the
    worker granian forks would sit a level below the wrapper's child that is measured."""
    if importlib.util.find_spec("granian") is None:
        raise SystemExit("--with-granian: install it first (pip install -e '.[bench]')")
    database_url = migrated_database(work / "granian.db")
    python = sys.executable
    command = [
        python,
        "-m",
        "granian",
        "--interface",
        "asgi",
        "--factory",
        "--loop",
        "uvloop",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-access-log",
        "--log-level",
        "warning",
        "sluice.api.app:create_app",
    ]
    return Service.start(
        "granian",
        command,
        port,
        ping="/api/v1/ping",
        forks_worker=True,
        env={"SLUICE_FLOWS": str(flows), "SLUICE_DATABASE_URL": database_url},
    )


def target_of(name: str, running: dict[str, tuple[Service, str]]) -> Target:
    if name in ("direct", "bare", "litellm", "sluice-relay"):
        wire = "openai"
    elif name == "sluice-integration":
        wire = "flowise"
    else:
        wire = name.rsplit("-", 1)[1]  # sluice-flowise, sluice-chat, granian-flowise
    return Target(name, None if name == "direct" else running[name][0], wire)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller counts, for development")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--with-litellm", action="store_true")
    parser.add_argument(
        "--with-granian", action="store_true", help="also Sluice under granian (Flowise API)"
    )
    parser.add_argument("--wires", default="flowise,chat", help="Sluice APIs to measure")
    parser.add_argument(
        "--profile", default=None, help="a command prefix for sluice under uvicorn (py-spy)"
    )
    parser.add_argument("--scenarios", default="s1,s2,s3", help="which to run (ratios need all)")
    parser.add_argument(
        "--s1-run-length", type=int, default=S1_RUN_LENGTH, help="S1 requests to a target in a row"
    )
    parser.add_argument(
        "--s1-run-warmup", type=int, default=S1_RUN_WARMUP, help="unmeasured ones before them"
    )
    parser.add_argument(
        "--s1-blocks",
        action="store_true",
        help="measure S1 target by target, 200 requests each (default: interleaved)",
    )
    parser.add_argument(
        "--layers",
        action="store_true",
        help="S1 also through Sluice's relay and integration layers alone (layers.py)",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    chosen = args.scenarios.split(",")
    scenarios = tuple(s for s in (QUICK if args.quick else FULL) if s.name in chosen)
    sluice = [f"sluice-{wire}" for wire in args.wires.split(",")]
    rounds = []
    with (
        tempfile.TemporaryDirectory(prefix="sluice-relay-") as tmp,
        services(args, Path(tmp), scenarios) as running,
    ):
        upstream = running["direct"][0]
        others = [
            *(["granian-flowise"] if args.with_granian else []),
            *(["litellm"] if args.with_litellm else []),
        ]
        names = ["direct", "bare", *sluice, *others]
        layers = ["sluice-relay", "sluice-integration"] if args.layers else []
        for index in range(args.rounds):
            result: dict[str, dict[str, dict[str, float]]] = {}
            for scenario in scenarios:
                chosen_names = [*names, *layers] if scenario.name == "s1" else names
                order = chosen_names if index % 2 == 0 else chosen_names[::-1]
                targets = [(target_of(name, running), running[name][1]) for name in order]
                if scenario.name == "s1" and not args.s1_blocks:
                    result["s1"] = measure_interleaved(
                        targets,
                        scenario,
                        upstream,
                        seed=index,
                        run_length=args.s1_run_length,
                        run_warmup=args.s1_run_warmup,
                    )
                else:
                    result[scenario.name] = {
                        target.name: measure(target, base, scenario, upstream)
                        for target, base in targets
                    }
                for name in order:
                    logger.info(
                        "round %d %s %-15s %s",
                        index + 1,
                        scenario.name,
                        name,
                        orjson.dumps(result[scenario.name][name]).decode(),
                    )
            rounds.append(result)
    out = sys.stdout
    mode = "quick" if args.quick else "full"
    out.write(
        f"relay benchmark ({mode}, median of {args.rounds} rounds; ms, tokens/s, server CPU)\n"
    )
    out.write(table(rounds, names, layers) + "\n\n")
    if layers and "s1" in rounds[0]:
        out.write(layer_ratios(rounds, [*layers, *sluice]) + "\n\n")
    if len(scenarios) < len(FULL):
        return
    per_round = [ratios(r, sluice) for r in rounds]
    for wire in [*sluice, *(["granian-flowise"] if args.with_granian else [])]:
        one = [ratios(r, [wire]) for r in rounds]
        out.write(
            f"{wire}: "
            + orjson.dumps({k: statistics.median(x[k] for x in one) for k in one[0]}).decode()
            + "\n"
        )
    final = {key: round(statistics.median(r[key] for r in per_round), 3) for key in per_round[0]}
    out.write(orjson.dumps(final).decode() + "\n")


if __name__ == "__main__":
    main()

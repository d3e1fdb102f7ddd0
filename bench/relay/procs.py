"""The runner's processes: start one in its own process group, wait until it answers, read
its CPU time and peak memory from ``/proc``, stop it and everything it started.

Nothing here needs psutil: ``/proc/<pid>/stat`` fields 14 and 15 are user and system CPU
in clock ticks, ``/proc/<pid>/status`` ``VmHWM`` is the peak resident set, and writing
``5`` to ``/proc/<pid>/clear_refs`` resets that peak (Linux 4.0+).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson

HERE = Path(__file__).resolve().parent
TICKS_PER_S = os.sysconf("SC_CLK_TCK")
logger = logging.getLogger("bench.procs")


_GIVEN_PORTS: set[int] = set()


def free_port() -> int:
    """A loopback port free now and not given before in this process: ports are picked
    before the servers bind them, and the kernel may hand a released one out again."""
    for _ in range(100):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port: int = sock.getsockname()[1]
        if port not in _GIVEN_PORTS:
            _GIVEN_PORTS.add(port)
            return port
    raise RuntimeError("expected a free loopback port not given before, found none in 100")


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS_PER_S  # utime, stime (fields 14, 15)


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def reset_peak_rss(pid: int) -> None:
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError as exc:  # then the peak is the process's lifetime peak
        logger.warning("could not reset the peak RSS of %d: %s", pid, exc)


def _raise_open_files() -> None:
    import resource

    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class Service:
    """A started server process; ``pid`` is the server itself (whose CPU is read)."""

    def __init__(self, name: str, process: subprocess.Popen[bytes], pid: int) -> None:
        self.name = name
        self.process = process
        self.pid = pid

    def cpu_s(self) -> float:
        return cpu_s(self.pid)

    @classmethod
    @contextlib.contextmanager
    def start(
        cls,
        name: str,
        command: Sequence[str],
        port: int,
        *,
        ping: str | None = None,
        wrap: str | None = None,
        forks_worker: bool = False,
        env: Mapping[str, str] | None = None,
        timeout_s: float = 60.0,
    ) -> Iterator[Service]:
        """Start ``command`` (under ``wrap``, a command prefix such as py-spy's), wait up to
        ``timeout_s`` until ``port`` accepts (and ``ping`` answers 200), stop it on exit.
        With ``forks_worker`` (granian), the process measured is the worker it forks."""
        argv = [*wrap.split(), *command] if wrap else list(command)
        # preexec_fn only raises the open-files limit (1,000 streams need 2,000+ sockets).
        process = subprocess.Popen(
            argv,
            start_new_session=True,
            preexec_fn=_raise_open_files,
            env=None if env is None else {**os.environ, **env},
        )
        try:
            _wait_ready(process, port, ping, timeout_s)
            pid = _server_pid(process.pid, command) if wrap or forks_worker else process.pid
            logger.info("%s ready on port %d (pid %d)", name, port, pid)
            yield cls(name, process, pid)
        finally:
            _stop(process)


def _wait_ready(
    process: subprocess.Popen[bytes], port: int, ping: str | None, timeout_s: float
) -> None:
    deadline = time.monotonic() + timeout_s
    for _ in range(int(timeout_s / 0.05) + 1):
        if process.poll() is not None:
            raise RuntimeError(f"expected a running server, got exit status {process.returncode}")
        if time.monotonic() > deadline:
            break
        try:
            if ping is None:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    return
            else:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}{ping}", timeout=1) as r:
                    if r.status == 200:
                        return
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.05)
    raise RuntimeError(f"expected a server on port {port} within {timeout_s} s, got none")


def _server_pid(root: int, command: Sequence[str]) -> int:
    """The pid of ``command`` started under a wrapper: the wrapper's child running it (or
    the worker a server forks, whose command line is its parent's)."""
    for _ in range(100):
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if int(stat[1]) == root and cmdline[0] == command[0].encode():
                return int(entry.name)
        time.sleep(0.05)
    return root


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def run_loadgen(url: str, body: bytes, wire: str, scenario: Any) -> dict[str, Any]:
    """One ``loadgen.py`` run (its own process, so its CPU is not the server's)."""
    command = [
        sys.executable,
        str(HERE / "loadgen.py"),
        url,
        "--body",
        body.decode(),
        "--wire",
        wire,
        "--requests",
        str(scenario.requests),
        "--concurrency",
        str(scenario.concurrency),
        "--expect-tokens",
        str(scenario.tokens),
        "--warmup",
        str(scenario.warmup),
    ]
    done = subprocess.run(
        command, capture_output=True, check=True, timeout=600, preexec_fn=_raise_open_files
    )
    summary: dict[str, Any] = orjson.loads(done.stdout.splitlines()[-1])
    if summary["errors"]:
        logger.warning("%s: %d errors %s", url, summary["errors"], summary["error_kinds"])
    return summary


def run_interleaved(
    targets: list[dict[str, str]], scenario: Any, seed: int, run_length: int, run_warmup: int
) -> dict[str, Any]:
    """One ``loadgen.py --interleave`` run: a summary per target name."""
    command = [
        sys.executable,
        str(HERE / "loadgen.py"),
        "--interleave",
        orjson.dumps(targets).decode(),
        "--requests",
        str(scenario.requests),
        "--expect-tokens",
        str(scenario.tokens),
        "--seed",
        str(seed),
        "--run-length",
        str(run_length),
        "--run-warmup",
        str(run_warmup),
    ]
    done = subprocess.run(
        command, capture_output=True, check=True, timeout=600, preexec_fn=_raise_open_files
    )
    summaries: dict[str, Any] = orjson.loads(done.stdout.splitlines()[-1])
    for name, summary in summaries.items():
        if summary["errors"]:
            logger.warning("%s: %d errors %s", name, summary["errors"], summary["error_kinds"])
    return summaries


LITELLM_VENV = Path.home() / ".cache" / "sluice-bench" / "litellm-venv"
LITELLM_SPEC = "litellm[proxy]>=1.70,<2"


@contextlib.contextmanager
def start_litellm(
    work: Path, scenarios: Sequence[Any], upstream: str, port: int
) -> Iterator[Service]:
    """The LiteLLM proxy in its own virtual environment (created once), every scenario a
    model on the same fake upstream."""
    python = LITELLM_VENV / "bin" / "python"
    if not python.exists():
        logger.info("installing %s into %s", LITELLM_SPEC, LITELLM_VENV)
        subprocess.run([sys.executable, "-m", "venv", str(LITELLM_VENV)], check=True, timeout=300)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", LITELLM_SPEC], check=True, timeout=1200
        )
    models = [
        {
            "model_name": s.name,
            "litellm_params": {
                "model": "openai/gpt-4o-mini",
                "api_base": f"{upstream}{s.path}",
                "api_key": "bench",
            },
        }
        for s in scenarios
    ]
    config = work / "litellm.yaml"
    config.write_bytes(orjson.dumps({"model_list": models}))  # JSON is YAML
    command = [
        str(LITELLM_VENV / "bin" / "litellm"),
        "--config",
        str(config),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--num_workers",
        "1",
    ]
    with Service.start(
        "litellm", command, port, ping="/health/liveliness", timeout_s=180
    ) as service:
        yield service

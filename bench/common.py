"""What the harness's modules share: its log, its error, its subprocesses, the machine's CPU.

Every command runs with the template tests' environment (template_harness.process:
the offered interpreters first on PATH, no uv downloads), less the harness's own settings,
in a process group of its own that is stopped as one.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from template_harness.process import subprocess_env as tests_subprocess_env
from template_harness.process import tail

BENCH = Path(__file__).resolve().parent
"""bench/: the Lua scripts, the floor app, the pytest plugin and the results."""


# Besides what tests/support.py keeps out of a generated project's tools: settings the
# harness sets itself, and PYTHONDONTWRITEBYTECODE, set on some machines (and in the
# Dockerfile's final stage, whose bytecode is compiled at build time): without a bytecode
# cache every start recompiles fastapi, SQLAlchemy and pydantic (~3 s). Measure as on a
# developer's machine.
BENCH_STRIPPED_ENV = ("ENVIRONMENT", "LOG_JSON", "PYTHONDONTWRITEBYTECODE")


def log(message: str) -> None:
    stamp = time.strftime("%H:%M:%S")
    print(f"[{stamp}] {message}", file=sys.stderr, flush=True)


class BenchError(RuntimeError):
    pass


def subprocess_env(extra: Mapping[str, str | None] | None = None) -> dict[str, str]:
    """The template tests' environment for generated projects' tools (the offered
    interpreters first on PATH, no uv downloads), less the harness's own settings."""
    return tests_subprocess_env({**dict.fromkeys(BENCH_STRIPPED_ENV), **(extra or {})})


def run(
    cmd: Sequence[str | os.PathLike[str]],
    cwd: Path,
    env: Mapping[str, str | None] | None = None,
    *,
    timeout: float = 600,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run `cmd` in a process group of its own, stdout and stderr together; on a timeout
    (or when this process is interrupted) interrupt the whole group, then kill it, so that
    no grandchild (pytest under `uv run`, a server) outlives the harness."""
    args = [os.fspath(part) for part in cmd]
    proc = subprocess.Popen(
        args,
        cwd=cwd,
        env=subprocess_env(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        output = _stop_group(proc)
        raise BenchError(
            f"`{shlex.join(args)}` (in {cwd}) timed out after {timeout:.0f} s:\n{tail(output)}"
        ) from None
    except BaseException:
        _stop_group(proc)
        raise
    result = subprocess.CompletedProcess(args, proc.returncode, output, None)
    if check and result.returncode != 0:
        raise BenchError(
            f"`{shlex.join(args)}` (in {cwd}) exited with {result.returncode}:\n"
            f"{tail(result.stdout)}"
        )
    return result


def _stop_group(proc: subprocess.Popen[str]) -> str:
    """SIGINT first (pytest then runs its teardown: drops its database), SIGKILL after 20 s."""
    for sig, grace in ((signal.SIGINT, 20), (signal.SIGKILL, 10)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            output, _ = proc.communicate(timeout=grace)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            return output or ""
        except subprocess.TimeoutExpired:
            continue
    return ""


def timed(
    cmd: Sequence[str | os.PathLike[str]],
    cwd: Path,
    env: Mapping[str, str | None] | None = None,
    timeout: float = 600,
) -> float:
    start = time.perf_counter()
    run(cmd, cwd, env, timeout=timeout)
    return time.perf_counter() - start


def first_match(pattern: str, text: str, default: str = "unknown") -> str:
    match = re.search(pattern, text, re.MULTILINE)
    return match[1].strip() if match else default


def read_text(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def cpu_times() -> tuple[int, int]:
    """(busy, total) jiffies over all CPUs, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    total = sum(fields[:8])
    return total - idle, total


def background_cpu(seconds: float = 0.5) -> float:
    """Share of the machine's CPU busy while the benchmark itself is idle (between runs):
    other work on the machine that competes with the measurement."""
    busy0, total0 = cpu_times()
    time.sleep(seconds)
    busy1, total1 = cpu_times()
    return (busy1 - busy0) / (total1 - total0) if total1 > total0 else 0.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])

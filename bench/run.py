"""Benchmark harness for the template: one command, not part of the test suite.

    uv run python bench/run.py            # full run (~6 min), writes bench/results/latest.*
    uv run python bench/run.py --quick    # smoke run (< 2 min), writes bench/results/quick.*

It generates a PostgreSQL project from the template's working tree, installs, migrates
and seeds it, serves it as its README says to in production (`uv run fastapi run
--workers 2`, JSON logs to a file) next to a raw Starlette + asyncpg floor
(bench/floor_app.py) on the same database, drives both alternately with wrk, and also
measures the generated test suite, `copier copy` -> green tests, cold start and memory.
Optionally profiles one app worker under load with py-spy. bench/README.md explains
every number. Needs: uv, wrk (installed with apt-get if missing), PostgreSQL with a
`postgres` user that may create databases (trust authentication) on 127.0.0.1:5432,
or the server in --postgres-url, and psql.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import http.client
import json
import os
import platform
import re
import secrets
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT / "tests"))
import support  # noqa: E402 - the template tests' helpers, shared with the harness
LUA = BENCH / "lua"
RESULTS = BENCH / "results"

ENDPOINTS = ("list", "get", "create")
ENDPOINT_LABELS = {
    "list": "GET /api/v1/items?limit=20",
    "get": "GET /api/v1/items/{id}",
    "create": "POST /api/v1/items",
}
SERVERS = ("app", "floor")
SEED_ITEMS = 10_000
PACKAGE = "bench_service"

TARGETS = {
    "list_ratio": 0.30,  # list req/s >= 30 % of the floor's, same run
    "p99_ms": 50.0,  # at 32 connections, every endpoint
    "test_ms_postgresql": 15.0,
    "test_ms_sqlite": 5.0,
    "copier_to_green_s": 20.0,  # warm uv cache
    "cold_start_s": 1.5,
}

# Besides what tests/support.py keeps out of a generated project's tools: settings the
# harness sets itself, and PYTHONDONTWRITEBYTECODE, set on some machines (and in the
# Dockerfile's final stage, whose bytecode is compiled at build time): without a bytecode
# cache every start recompiles fastapi, SQLAlchemy and pydantic (~3 s). Measure as on a
# developer's machine.
_BENCH_STRIPPED_ENV = ("ENVIRONMENT", "LOG_JSON", "PYTHONDONTWRITEBYTECODE")

def log(message: str) -> None:
    stamp = time.strftime("%H:%M:%S")
    print(f"[{stamp}] {message}", file=sys.stderr, flush=True)


class BenchError(RuntimeError):
    pass


# ---------------------------------------------------------------------------
# Environment and subprocesses
# ---------------------------------------------------------------------------


def subprocess_env(extra: Mapping[str, str | None] | None = None) -> dict[str, str]:
    """The template tests' environment for generated projects' tools (the offered
    interpreters first on PATH, no uv downloads), less the harness's own settings."""
    return support.subprocess_env({**dict.fromkeys(_BENCH_STRIPPED_ENV), **(extra or {})})

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
            f"`{shlex.join(args)}` (in {cwd}) timed out after {timeout:.0f} s:\n{_tail(output)}"
        ) from None
    except BaseException:
        _stop_group(proc)
        raise
    result = subprocess.CompletedProcess(args, proc.returncode, output, None)
    if check and result.returncode != 0:
        raise BenchError(
            f"`{shlex.join(args)}` (in {cwd}) exited with {result.returncode}:\n"
            f"{_tail(result.stdout)}"
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


def _tail(text: str, lines: int = 60) -> str:
    return "\n".join(text.splitlines()[-lines:])


def timed(
    cmd: Sequence[str | os.PathLike[str]],
    cwd: Path,
    env: Mapping[str, str | None] | None = None,
    timeout: float = 600,
) -> float:
    start = time.perf_counter()
    run(cmd, cwd, env, timeout=timeout)
    return time.perf_counter() - start


def _cpu_times() -> tuple[int, int]:
    """(busy, total) jiffies over all CPUs, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    total = sum(fields[:8])
    return total - idle, total


def background_cpu(seconds: float = 0.5) -> float:
    """Share of the machine's CPU busy while the benchmark itself is idle (between runs):
    other work on the machine that competes with the measurement."""
    busy0, total0 = _cpu_times()
    time.sleep(seconds)
    busy1, total1 = _cpu_times()
    return (busy1 - busy0) / (total1 - total0) if total1 > total0 else 0.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ---------------------------------------------------------------------------
# Prerequisites and machine
# ---------------------------------------------------------------------------


def ensure_wrk() -> str:
    if wrk := shutil.which("wrk"):
        return wrk
    log("wrk not found: installing the Debian package (apt-get update, apt-get install -y wrk)")
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    env = {"DEBIAN_FRONTEND": "noninteractive"}
    run([*sudo, "apt-get", "update"], ROOT, env, timeout=600)
    run([*sudo, "apt-get", "install", "-y", "wrk"], ROOT, env, timeout=600)
    wrk = shutil.which("wrk")
    if wrk is None:
        raise BenchError("apt-get installed wrk but it is not on PATH")
    return wrk


def _first(pattern: str, text: str, default: str = "unknown") -> str:
    match = re.search(pattern, text, re.MULTILINE)
    return match[1].strip() if match else default


def machine_info(postgres: Postgres, wrk: str, template: str) -> dict[str, Any]:
    cpuinfo = Path("/proc/cpuinfo").read_text(errors="replace")
    meminfo = Path("/proc/meminfo").read_text()
    mem_kib = int(_first(r"^MemTotal:\s+(\d+)", meminfo, "0"))
    wrk_banner = run([wrk, "-v"], ROOT, check=False).stdout
    wrk_version = "wrk " + _first(r"^wrk\s+(?:debian/)?(\S+)", wrk_banner)
    commit = run(["git", "rev-parse", "--short", "HEAD"], ROOT, check=False).stdout.strip()
    dirty = template == "worktree" and bool(
        run(
            ["git", "status", "--porcelain", "--", "template", "copier.yml", "includes"],
            ROOT,
            check=False,
        ).stdout.strip()
    )
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_model": _first(r"^model name\s*:\s*(.+)$", cpuinfo),
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "kernel": platform.release(),
        "os": _first(r'^PRETTY_NAME="?([^"\n]+)', _read("/etc/os-release")),
        "harness_python": platform.python_version(),
        "postgresql": postgres.scalar("SHOW server_version"),
        "wrk": wrk_version,
        "uv": run(["uv", "--version"], ROOT).stdout.strip(),
        "template_commit": commit + ("+dirty" if dirty else ""),
    }


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


# ---------------------------------------------------------------------------
# PostgreSQL
# ---------------------------------------------------------------------------


@dataclass
class Postgres:
    """psql against the server of `url` (an SQLAlchemy URL, `postgresql+asyncpg://...`)."""

    url: str
    database: str = "postgres"

    @property
    def params(self) -> dict[str, str]:
        parts = urlsplit(self.url)
        return {
            "host": parts.hostname or "127.0.0.1",
            "port": str(parts.port or 5432),
            "user": parts.username or "postgres",
            "password": parts.password or "",
        }

    def psql(self, sql: str, database: str | None = None) -> str:
        p = self.params
        args = [
            shutil.which("psql") or "psql",
            *("-X", "-q", "-v", "ON_ERROR_STOP=1", "-tA"),
            *("-h", p["host"], "-p", p["port"], "-U", p["user"]),
            *("-d", database or self.database, "-c", sql),
        ]
        env = {"PGPASSWORD": p["password"] or None, "PGCONNECT_TIMEOUT": "5"}
        return run(args, ROOT, env, timeout=300).stdout.strip()

    def scalar(self, sql: str, database: str | None = None) -> str:
        lines = self.psql(sql, database).splitlines()
        return lines[0] if lines else ""

    def sqlalchemy_url(self, database: str) -> str:
        p = self.params
        auth = p["user"] + (f":{p['password']}" if p["password"] else "")
        return f"postgresql+asyncpg://{auth}@{p['host']}:{p['port']}/{database}"

    def dsn(self, database: str) -> str:
        return self.sqlalchemy_url(database).replace("postgresql+asyncpg://", "postgresql://")


# ---------------------------------------------------------------------------
# Template and projects
# ---------------------------------------------------------------------------


def snapshot_template(dst: Path, source: str) -> Path:
    """The template as it is on disk (`worktree`: committed or not, like the tests), or
    as committed (`head`), copied outside git so Copier renders exactly that."""
    dst.mkdir(parents=True)
    if source == "head":
        archive = dst.parent / "template.tar"
        run(["git", "archive", "--format=tar", "-o", archive, "HEAD"], ROOT)
        with tarfile.open(archive) as tar:
            tar.extractall(dst, filter="data")
        archive.unlink()
        return dst
    listing = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in sorted({n for n in listing.split("\0") if n}):
        source_path = ROOT / name
        if name.startswith("bench/") or not source_path.is_file():
            continue
        target = dst / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source_path, target, follow_symlinks=False)
    if not (dst / "copier.yml").is_file():
        raise BenchError(f"copier.yml missing from the template snapshot in {dst}")
    return dst


def copier_copy(template: Path, dst: Path, answers: Mapping[str, str]) -> float:
    """`copier copy --defaults` from this (the template repository's) environment."""
    data = [arg for key, value in answers.items() for arg in ("-d", f"{key}={value}")]
    cmd = [sys.executable, "-m", "copier", "copy", "--defaults", "--quiet", *data, template, dst]
    return timed(cmd, ROOT, timeout=300)


def project_versions(project: Path) -> dict[str, str]:
    code = (
        "import importlib.metadata as m, json, platform\n"
        "names = ['fastapi', 'starlette', 'pydantic', 'sqlalchemy', 'asyncpg', 'uvicorn',"
        " 'uvloop', 'httptools', 'structlog']\n"
        "out = {'python': platform.python_version()}\n"
        "for n in names:\n"
        "    try: out[n] = m.version(n)\n"
        "    except m.PackageNotFoundError: pass\n"
        "print(json.dumps(out))\n"
    )
    result = run([project / ".venv" / "bin" / "python", "-c", code], project)
    return json.loads(result.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------
# Servers
# ---------------------------------------------------------------------------


@dataclass
class Server:
    name: str
    cmd: list[str]
    cwd: Path
    env: dict[str, str | None]
    port: int
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    _log: Any = None

    def start(self) -> float:
        """Spawn; return the perf_counter time of the spawn."""
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        started = time.perf_counter()
        self.proc = subprocess.Popen(
            self.cmd,
            cwd=self.cwd,
            env=subprocess_env(self.env),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, stopped as one in stop()
        )
        return started

    def wait_ready(self, path: str = "/health/ready", timeout: float = 60) -> float:
        """Poll until `path` answers 200; return the perf_counter time of that answer."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise BenchError(
                    f"{self.name} exited with {self.proc.returncode} before it was ready; "
                    f"its log:\n{_tail(self.log_path.read_text(errors='replace'))}"
                )
            with contextlib.suppress(OSError, http.client.HTTPException):
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                try:
                    conn.request("GET", path)
                    response = conn.getresponse()
                    response.read()
                    if response.status == 200:
                        return time.perf_counter()
                finally:
                    conn.close()
            time.sleep(0.005)
        raise BenchError(
            f"{self.name} not ready on port {self.port} after {timeout:.0f} s; its log:\n"
            f"{_tail(self.log_path.read_text(errors='replace'))}"
        )

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=15)
        # Workers left behind in the group (the group leader gone first): end them too.
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        if self._log is not None:
            self._log.close()
            self._log = None

    def workers(self) -> list[int]:
        """The uvicorn worker processes (multiprocessing spawn children)."""
        if self.proc is None:
            return []
        return [pid for pid in descendants(self.proc.pid) if "spawn_main" in cmdline(pid)]


def descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        for child in children.get(pid, []):
            found.append(child)
            todo.append(child)
    return sorted(found)


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def memory_kib(pid: int) -> dict[str, int]:
    status = _read(f"/proc/{pid}/status")
    rollup = _read(f"/proc/{pid}/smaps_rollup")
    return {
        "rss_kib": int(_first(r"^VmRSS:\s+(\d+)", status, "0")),
        "pss_kib": int(_first(r"^Pss:\s+(\d+)", rollup, "0")),
    }


APP_EXTRA_ENV: dict[str, str] = {}
"""--app-env KEY=VALUE: extra settings for the app (e.g. DATABASE_POOL_SIZE=16)."""


def app_server(project: Path, database_url: str, port: int, workers: int, log_path: Path) -> Server:
    """The generated service as its README runs it in production."""
    return Server(
        name="app",
        cmd=[
            "uv",
            "run",
            "fastapi",
            "run",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        cwd=project,
        env={
            "DATABASE_URL": database_url,
            "ENVIRONMENT": "production",
            "LOG_JSON": "true",
            **APP_EXTRA_ENV,
        },
        port=port,
        log_path=log_path,
    )


def floor_server(project: Path, dsn: str, port: int, workers: int, log_path: Path) -> Server:
    """bench/floor_app.py, with the generated project's interpreter and libraries."""
    return Server(
        name="floor",
        cmd=[
            str(project / ".venv" / "bin" / "python"),
            "-m",
            "uvicorn",
            "floor_app:app",
            "--app-dir",
            str(BENCH),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        cwd=project,
        env={"FLOOR_DSN": dsn, "PYTHONPATH": str(BENCH)},
        port=port,
        log_path=log_path,
    )


# ---------------------------------------------------------------------------
# wrk
# ---------------------------------------------------------------------------


@dataclass
class LoadConfig:
    duration: float
    warmup: float
    rounds: int
    connections: int
    threads: int
    timeout: float = 5.0


def wrk_run(
    wrk: str,
    server: Server,
    endpoint: str,
    seconds: float,
    config: LoadConfig,
    extra_env: Mapping[str, str],
) -> dict[str, Any]:
    env = {"BENCH_LUA_DIR": str(LUA), "BENCH_TAG": secrets.token_hex(4), **extra_env}
    cmd = [
        wrk,
        f"-t{config.threads}",
        f"-c{config.connections}",
        f"-d{max(1, round(seconds))}s",
        f"--timeout={config.timeout:g}s",
        "--latency",
        "-s",
        str(LUA / f"{endpoint}.lua"),
        f"http://127.0.0.1:{server.port}",
    ]
    result = run(cmd, ROOT, env, timeout=seconds + 120)
    line = next((ln for ln in result.stdout.splitlines() if ln.startswith("BENCH_RESULT ")), None)
    if line is None:
        raise BenchError(f"wrk printed no BENCH_RESULT line:\n{_tail(result.stdout)}")
    data = json.loads(line.removeprefix("BENCH_RESULT "))
    seconds_run = data["duration_us"] / 1e6
    errors = sum(data["errors"].values())
    return {
        "rps": data["requests"] / seconds_run if seconds_run else 0.0,
        "p50_ms": data["p50_us"] / 1000,
        "p90_ms": data["p90_us"] / 1000,
        "p99_ms": data["p99_us"] / 1000,
        "max_ms": data["max_us"] / 1000,
        "requests": data["requests"],
        "seconds": round(seconds_run, 3),
        "errors": data["errors"],
        "error_count": errors,
    }


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: Sequence[int]) -> dict[int, float]:
    """utime + stime of each process (those that have gone are left out)."""
    out = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[pid] = (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS
    return out


def postgres_backends(database: str) -> list[int]:
    """PostgreSQL backend processes connected to `database` (by their process title)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            title = cmdline(int(entry.name))
            if title.startswith("postgres: ") and f" {database} " in title:
                pids.append(int(entry.name))
    return pids


@contextlib.contextmanager
def cpu_accounting(server: Server, database: str) -> Iterator[dict[str, float]]:
    """CPU seconds used during the block by the server's workers and by PostgreSQL's
    backends for the database (a connection opened and closed within it is missed), and
    the share of the whole machine that was busy."""
    out: dict[str, float] = {}
    workers_before = cpu_seconds(server.workers())
    backends_before = cpu_seconds(postgres_backends(database))
    busy0, total0 = _cpu_times()
    yield out
    busy1, total1 = _cpu_times()
    workers_after = cpu_seconds(server.workers())
    backends_after = cpu_seconds(postgres_backends(database))
    out["server_cpu_s"] = sum(t - workers_before.get(p, 0.0) for p, t in workers_after.items())
    out["postgres_cpu_s"] = sum(t - backends_before.get(p, 0.0) for p, t in backends_after.items())
    out["machine_busy"] = (busy1 - busy0) / (total1 - total0) if total1 > total0 else 0.0


def delete_redis_keys(prefix: str) -> None:
    """Remove what a run cached in the machine's Redis (redis-cli, if installed)."""
    if shutil.which("redis-cli") is None:
        return
    keys = run(["redis-cli", "--scan", "--pattern", f"{prefix}*"], ROOT).stdout.split()
    for start in range(0, len(keys), 500):
        run(["redis-cli", "DEL", *keys[start : start + 500]], ROOT)


def reset_items(postgres: Postgres, database: str, max_seed_id: int) -> None:
    """Remove what `create` added, so every list run counts the same 10,000 rows."""
    postgres.psql(f"DELETE FROM items WHERE id > {max_seed_id}", database)
    postgres.psql("VACUUM (ANALYZE) items", database)


def load_test(
    wrk: str,
    servers: dict[str, Server],
    config: LoadConfig,
    postgres: Postgres,
    database: str,
    ids: tuple[int, int],
) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """Rounds x endpoints x servers, the servers' order alternating each round; each
    measured run preceded by an unrecorded warm-up run of the same load."""
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {
        s: {e: [] for e in ENDPOINTS} for s in servers
    }
    id_env = {"BENCH_MIN_ID": str(ids[0]), "BENCH_MAX_ID": str(ids[1])}
    for round_index in range(config.rounds):
        order = list(servers) if round_index % 2 == 0 else list(reversed(servers))
        for endpoint in ENDPOINTS:
            for name in order:
                server = servers[name]
                idle_busy = background_cpu()
                if config.warmup > 0:
                    wrk_run(wrk, server, endpoint, config.warmup, config, id_env)
                with cpu_accounting(server, database) as cpu:
                    result = wrk_run(wrk, server, endpoint, config.duration, config, id_env)
                requests = max(1, result["requests"])
                result |= {
                    "background_cpu": round(idle_busy, 3),
                    "machine_busy": round(cpu["machine_busy"], 3),
                    "server_cpu_cores": round(cpu["server_cpu_s"] / result["seconds"], 3),
                    "server_cpu_ms_per_request": 1000 * cpu["server_cpu_s"] / requests,
                    "postgres_cpu_ms_per_request": 1000 * cpu["postgres_cpu_s"] / requests,
                }
                runs[name][endpoint].append(result)
                flag = f"  ERRORS {result['errors']}" if result["error_count"] else ""
                if idle_busy > 0.1:
                    flag += f"  (machine {idle_busy:.0%} busy before the run)"
                log(
                    f"round {round_index + 1}/{config.rounds} {endpoint:6} {name:5} "
                    f"{result['rps']:8.1f} req/s  p50 {result['p50_ms']:6.2f} ms  "
                    f"p99 {result['p99_ms']:6.2f} ms  CPU/request: server "
                    f"{result['server_cpu_ms_per_request']:.2f} ms, PostgreSQL "
                    f"{result['postgres_cpu_ms_per_request']:.2f} ms{flag}"
                )
                if endpoint == "create":
                    reset_items(postgres, database, ids[1])
    return runs


def summarize_load(runs: dict[str, dict[str, list[dict[str, Any]]]]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for endpoint in ENDPOINTS:
        row: dict[str, Any] = {"label": ENDPOINT_LABELS[endpoint]}
        for server, by_endpoint in runs.items():
            results = by_endpoint[endpoint]
            row[server] = {
                "rps": statistics.median(r["rps"] for r in results),
                "p50_ms": statistics.median(r["p50_ms"] for r in results),
                "p99_ms": statistics.median(r["p99_ms"] for r in results),
                "rps_runs": [round(r["rps"], 1) for r in results],
                "errors": sum(r["error_count"] for r in results),
                "server_cpu_ms_per_request": statistics.median(
                    r["server_cpu_ms_per_request"] for r in results
                ),
                "postgres_cpu_ms_per_request": statistics.median(
                    r["postgres_cpu_ms_per_request"] for r in results
                ),
                "server_cpu_cores": statistics.median(r["server_cpu_cores"] for r in results),
            }
        row["background_cpu_max"] = max(
            r.get("background_cpu", 0.0) for by in runs.values() for r in by[endpoint]
        )
        if "app" in row and "floor" in row and row["floor"]["rps"]:
            row["ratio"] = row["app"]["rps"] / row["floor"]["rps"]
        summary[endpoint] = row
    return summary


def cache_comparison(
    wrk: str,
    servers: dict[str, Server],
    config: LoadConfig,
    database: str,
    ids: tuple[int, int],
) -> dict[str, Any]:
    """`GET /api/v1/items/{id}` on the same data, without ("app") and with ("cache") the
    item cache of `cache=true` (Redis on this machine): is a Redis round trip cheaper than a
    primary-key read? The cache is filled first (every id once), so runs measure hits."""
    low, high = ids
    connection = http.client.HTTPConnection("127.0.0.1", servers["cache"].port, timeout=10)
    try:
        for item_id in range(low, high + 1):
            connection.request("GET", f"/api/v1/items/{item_id}")
            connection.getresponse().read()
    finally:
        connection.close()
    id_env = {"BENCH_MIN_ID": str(low), "BENCH_MAX_ID": str(high)}
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in servers}
    for round_index in range(config.rounds):
        order = list(servers) if round_index % 2 == 0 else list(reversed(servers))
        for name in order:
            server = servers[name]
            if config.warmup > 0:
                wrk_run(wrk, server, "get", config.warmup, config, id_env)
            with cpu_accounting(server, database) as cpu:
                result = wrk_run(wrk, server, "get", config.duration, config, id_env)
            requests = max(1, result["requests"])
            result["server_cpu_ms_per_request"] = 1000 * cpu["server_cpu_s"] / requests
            result["postgres_cpu_ms_per_request"] = 1000 * cpu["postgres_cpu_s"] / requests
            runs[name].append(result)
            log(
                f"cache round {round_index + 1}/{config.rounds} get {name:5} "
                f"{result['rps']:8.1f} req/s  p50 {result['p50_ms']:6.2f} ms  "
                f"p99 {result['p99_ms']:6.2f} ms  CPU/request: server "
                f"{result['server_cpu_ms_per_request']:.2f} ms, PostgreSQL "
                f"{result['postgres_cpu_ms_per_request']:.2f} ms"
            )
    summary: dict[str, Any] = {"runs": runs}
    for name, results in runs.items():
        summary[name] = {
            key: statistics.median(r[key] for r in results)
            for key in (
                "rps",
                "p50_ms",
                "p99_ms",
                "server_cpu_ms_per_request",
                "postgres_cpu_ms_per_request",
            )
        } | {"errors": sum(r["error_count"] for r in results)}
    return summary


# ---------------------------------------------------------------------------
# Profile
# ---------------------------------------------------------------------------


def profile_list(
    wrk: str, server: Server, config: LoadConfig, seconds: int, folded: Path
) -> dict[str, Any]:
    """py-spy on one app worker while wrk loads the list endpoint; raw (folded) stacks."""
    workers = server.workers()
    if not workers:
        raise BenchError("no app worker process found to profile")
    pid = workers[0]
    env = {"BENCH_LUA_DIR": str(LUA), "BENCH_TAG": "profile"}
    load = subprocess.Popen(
        [
            wrk,
            f"-t{config.threads}",
            f"-c{config.connections}",
            f"-d{seconds + 4}s",
            "-s",
            str(LUA / "list.lua"),
            f"http://127.0.0.1:{server.port}",
        ],
        cwd=ROOT,
        env=subprocess_env(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        time.sleep(1.5)
        run(
            [
                "uv",
                "run",
                "--locked",
                "--group",
                "bench",
                "py-spy",
                "record",
                "--pid",
                str(pid),
                "--duration",
                str(seconds),
                "--rate",
                "250",
                "--nonblocking",
                "--format",
                "raw",
                "--output",
                folded,
            ],
            ROOT,
            timeout=seconds + 120,
        )
    finally:
        try:
            load.wait(timeout=seconds + 60)
        except subprocess.TimeoutExpired:
            os.killpg(load.pid, signal.SIGKILL)
            load.wait()
    return {"pid": pid, "seconds": seconds, "rate_hz": 250, "folded": folded.name}


_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")
Frame = tuple[str, str]  # (function, file) as py-spy names them: "Class.method", "pkg/mod.py"

NATIVE = "(no Python frame: native code, e.g. uvloop's C loop, GC)"

# Exclusive: each sample goes to the library of its innermost frame (sums to 100 %).
_LIBRARIES = [
    ("app (generated package)", f"{PACKAGE}/"),
    ("SQLAlchemy ORM", "sqlalchemy/orm/"),
    ("SQLAlchemy core, engine, pool, dialect", "sqlalchemy/"),
    ("asyncpg", "asyncpg/"),
    ("pydantic", "pydantic"),
    ("FastAPI", "fastapi/"),
    ("Starlette", "starlette/"),
    ("uvicorn / httptools", "uvicorn/"),
    ("structlog", "structlog/"),
    ("stdlib logging", "logging/"),
    ("stdlib json", "json/"),
    ("anyio (thread pool)", "anyio/"),
    ("threading / queue (thread pool hand-off)", "threading.py"),
    ("threading / queue (thread pool hand-off)", "queue.py"),
    ("asyncio", "asyncio/"),
    ("uuid", "uuid.py"),
    ("ssl", "ssl.py"),
]


def _any(frames: Sequence[Frame], file_part: str, func_part: str = "") -> bool:
    return any(file_part in file and func_part in func for func, file in frames)


# Inclusive: the share of samples with such a frame on the stack; they overlap.
_ACTIVITIES: list[tuple[str, Any]] = [
    (
        "All database work: SQLAlchemy + asyncpg frames on the stack",
        lambda f: _any(f, "sqlalchemy/") or _any(f, "asyncpg/"),
    ),
    ("  asyncpg driver (protocol, statements)", lambda f: _any(f, "asyncpg/")),
    (
        "  opening/closing connections (asyncpg connect + SSL + close; pool overflow churn)",
        lambda f: (
            _any(f, "asyncpg/connect_utils.py")
            or _any(f, "asyncpg/connection.py", "close")
            or _any(f, "sqlalchemy/pool/", "close")
            or _any(f, "sqlalchemy/pool/", "__connect")
        ),
    ),
    (
        "  pool_pre_ping (ping on every checkout)",
        lambda f: _any(f, "sqlalchemy/", "ping") or _any(f, "asyncpg/", "ping"),
    ),
    (
        "  transaction begin / commit / rollback",
        lambda f: (
            _any(f, "sqlalchemy/", "commit")
            or _any(f, "sqlalchemy/", "rollback")
            or _any(f, "sqlalchemy/", "_start_transaction")
            or _any(f, "asyncpg/transaction.py")
        ),
    ),
    (
        "  SQL compilation and statement-cache keys",
        lambda f: _any(f, "sqlalchemy/sql/compiler.py") or _any(f, "sqlalchemy/sql/cache_key.py"),
    ),
    (
        "  ORM: rows -> Item instances (loading, identity map)",
        lambda f: (
            _any(f, "sqlalchemy/orm/loading.py")
            or _any(f, "sqlalchemy/orm/identity.py")
            or _any(f, "sqlalchemy/orm/instrumentation.py")
        ),
    ),
    (
        "Access log line (structlog processors, JSON rendering, logging handler, write)",
        lambda f: _any(f, "structlog/") or any(file.startswith("logging/") for _, file in f),
    ),
    (
        "ItemRead.model_validate (from_attributes, per row)",
        lambda f: _any(f, "pydantic/", "model_validate"),
    ),
    (
        "Response: serialize_response, pydantic dump, JSONResponse render",
        lambda f: (
            _any(f, "fastapi/", "serialize_response")
            or _any(f, "pydantic/", "dump")
            or _any(f, "starlette/responses.py", "render")
            or _any(f, "fastapi/encoders.py")
        ),
    ),
    (
        "FastAPI dependency resolution (solve_dependencies)",
        lambda f: _any(f, "fastapi/dependencies/utils.py", "solve_dependencies"),
    ),
    (
        "Thread-pool hop for sync dependencies (run_in_threadpool, anyio worker threads)",
        lambda f: _any(f, "starlette/concurrency.py", "run_in_threadpool") or _any(f, "anyio/"),
    ),
    (
        "uvicorn/httptools protocol: parse request, write response",
        lambda f: any("uvicorn/protocols/" in file and "run_asgi" not in func for func, file in f),
    ),
    (
        "Request id + access-log middleware's own frames (not the log call)",
        lambda f: bool(f) and f[-1][1].endswith("request_context.py"),
    ),
    (
        "Native event loop (uvloop C code) or no Python frame",
        lambda f: not f or f[-1][0] == "Runner.run",
    ),
]


def parse_folded(path: Path) -> list[tuple[list[Frame], int]]:
    """py-spy --format raw: `frame;frame;... count` lines, outermost frame first. Samples
    with no Python frame (native code) have an empty stack."""
    stacks = []
    for line in path.read_text(errors="replace").splitlines():
        stack_text, _, count_text = line.rpartition(" ")
        if not count_text.isdigit():
            continue
        frames: list[Frame] = []
        for raw in filter(None, (part.strip() for part in stack_text.split(";"))):
            match = _FRAME.match(raw)
            frames.append((match["func"], match["file"]) if match else (raw, ""))
        stacks.append((frames, int(count_text)))
    return stacks


def _library(frames: Sequence[Frame]) -> str:
    if not frames:
        return NATIVE
    if frames[-1][0] == "Runner.run":
        return "uvloop (native event loop, shown as Runner.run)"
    for _, file in reversed(frames):
        hit = next((name for name, marker in _LIBRARIES if marker in file), None)
        if hit:
            return hit
    return "other (stdlib, interpreter)"


def summarize_profile(folded: Path, meta: dict[str, Any], versions: dict[str, str]) -> str:
    stacks = parse_folded(folded)
    total = sum(count for _, count in stacks)
    if total == 0:
        return "py-spy recorded no samples.\n"
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    libraries: Counter[str] = Counter()
    activities: Counter[str] = Counter()
    threads: Counter[str] = Counter()
    driver_callers: Counter[str] = Counter()
    greenlet_rooted = 0
    for frames, count in stacks:
        if not frames:
            threads["no Python frame"] += count
        elif frames[0][0] == "Thread._bootstrap":
            threads["thread-pool worker threads (anyio)"] += count
        else:
            threads["event-loop thread"] += count
            if frames[0][0] != "<module>":
                greenlet_rooted += count
        leaf = f"{frames[-1][0]} ({frames[-1][1]})" if frames else NATIVE
        own[leaf] += count
        for key in {f"{func} ({file})" for func, file in frames}:
            inclusive[key] += count
        libraries[_library(frames)] += count
        if frames and "asyncpg/" in frames[-1][1]:
            caller = next(
                (
                    f"{func} ({file})"
                    for func, file in reversed(frames)
                    if "asyncpg/" not in file and "sqlalchemy/util/" not in file
                ),
                "(none)",
            )
            driver_callers[caller] += count
        for name, predicate in _ACTIVITIES:
            if predicate(frames):
                activities[name] += count

    def pct(n: int) -> str:
        return f"{100 * n / total:5.1f}%"

    lines = [
        "Profile of one app worker under wrk load on GET /api/v1/items?limit=20",
        "=" * 72,
        f"py-spy record --pid <worker> --rate {meta['rate_hz']} --nonblocking --format raw "
        f"for {meta['seconds']} s, while wrk ran {meta.get('connections', 32)} connections "
        "against the app (both workers) on the list endpoint.",
        f"{total} samples; py-spy leaves out threads it sees idle, so percentages are roughly "
        "shares of the worker's CPU time.",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()),
        f"Raw stacks: {meta['folded']} (folded format: a flame graph with inferno, "
        "flamegraph.pl or speedscope).",
        "",
        "Caveat: SQLAlchemy's asyncio layer runs the ORM inside greenlets; py-spy shows such a "
        "stack from the greenlet's first frame (Session.execute, ...), not from the request, "
        f"so {pct(greenlet_rooted).strip()} of samples are not under the request's frames "
        "(RequestContextMiddleware, APIRoute.handle) in the inclusive list below.",
        "",
        "Samples by thread:",
        *(f"  {pct(n)}  {name}" for name, n in threads.most_common()),
        "",
        "By library of the innermost frame (exclusive, sums to 100%):",
        *(f"  {pct(n)}  {name}" for name, n in libraries.most_common()),
        "",
        "Activities (inclusive: share of samples with such a frame on the stack; they overlap):",
        *(f"  {pct(activities[name])}  {name}" for name, _ in _ACTIVITIES),
        "",
        "Time in asyncpg (innermost frame in asyncpg) by the first caller outside it, i.e. "
        "which database round trip it serves:",
        *(f"  {pct(n)}  {name}" for name, n in driver_callers.most_common(12)),
        "",
        "Top 35 functions by own time (the innermost frame):",
        *(f"  {pct(n)}  {name}" for name, n in own.most_common(35)),
        "",
        "Top 45 functions by inclusive time:",
        *(f"  {pct(n)}  {name}" for name, n in inclusive.most_common(45)),
    ]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------
# Test suite, copier -> green, cold start
# ---------------------------------------------------------------------------


def suite_timing(
    project: Path, env: Mapping[str, str | None], out: Path, timeout: float
) -> dict[str, Any]:
    """The generated project's `uv run pytest`, timed per test by bench/pytest_timing.py."""
    env = {**env, "PYTHONPATH": str(BENCH), "BENCH_TIMING_OUT": str(out)}
    start = time.perf_counter()
    result = run(
        ["uv", "run", "pytest", "-q", "-p", "no:cacheprovider", "-p", "pytest_timing"],
        project,
        env,
        timeout=timeout,
    )
    wall = time.perf_counter() - start
    data = json.loads(out.read_text())
    tests = data["tests"]
    failed = [nodeid for nodeid, t in tests.items() if t["outcome"] != "passed"]
    if failed:
        raise BenchError(f"generated tests not all passed: {failed}\n{_tail(result.stdout)}")
    count = len(tests)
    phases = sum(
        t.get("setup", 0) + t.get("call", 0) + t.get("teardown", 0) for t in tests.values()
    )
    oneoff = sum(t["oneoff_setup"] + t["oneoff_teardown"] for t in tests.values())
    per_test = [
        t.get("setup", 0)
        + t.get("call", 0)
        + t.get("teardown", 0)
        - t["oneoff_setup"]
        - t["oneoff_teardown"]
        for t in tests.values()
    ]
    return {
        "tests": count,
        "ms_per_test": 1000 * (phases - oneoff) / count,
        "ms_per_test_call_only": 1000 * sum(t.get("call", 0) for t in tests.values()) / count,
        "ms_per_test_median": 1000 * statistics.median(per_test),
        "ms_per_test_max": 1000 * max(per_test),
        "ms_per_test_without_3_slowest": 1000 * sum(sorted(per_test)[:-3]) / max(1, count - 3),
        "oneoff_s": oneoff,
        "wall_s": wall,
        "ms_per_test_wall": 1000 * wall / count,
        "slowest": [
            {"test": nodeid, "ms": round(1000 * ms, 1)}
            for ms, nodeid in sorted(
                (
                    (
                        t.get("setup", 0)
                        + t.get("call", 0)
                        + t.get("teardown", 0)
                        - t["oneoff_setup"]
                        - t["oneoff_teardown"],
                        nodeid,
                    )
                    for nodeid, t in tests.items()
                ),
                reverse=True,
            )[:5]
        ],
        "summary": _tail(result.stdout, 1),
    }


def cold_start(
    project: Path, database_url: str, log_path: Path, runs: int, command: str
) -> dict[str, Any]:
    """Spawn -> first 200 from /health/ready, one worker, `runs` times."""
    times = []
    for _ in range(runs):
        port = free_port()
        server = app_server(project, database_url, port, 1, log_path)
        if command == "venv":  # the Dockerfile's way: the environment's fastapi, no uv
            server.cmd = [str(project / ".venv" / "bin" / "fastapi"), *server.cmd[3:]]
        try:
            spawned = server.start()
            ready = server.wait_ready(timeout=60)
            times.append(ready - spawned)
        finally:
            server.stop()
    return {"runs_s": [round(t, 3) for t in times], "median_s": statistics.median(times)}


# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------


def _target(
    name: str,
    measured: float | None,
    goal: float,
    higher_is_better: bool,
    unit: str,
    fmt: str = "{:.2f}",
) -> dict[str, Any]:
    if measured is None:
        return {"target": name, "measured": None, "goal": goal, "status": "not measured"}
    met = measured >= goal if higher_is_better else measured <= goal
    gap = measured - goal
    if unit == "%":
        shown, goal_shown, gap_shown = (
            f"{100 * measured:.1f}%",
            f"{100 * goal:.0f}%",
            f"{100 * gap:+.1f} points",
        )
    else:
        shown = fmt.format(measured) + f" {unit}"
        goal_shown = fmt.format(goal) + f" {unit}"
        gap_shown = (fmt.format(gap) if gap < 0 else "+" + fmt.format(gap)) + f" {unit}"
        if goal:
            gap_shown += f" ({gap / goal:+.0%})"
    return {
        "target": name,
        "measured": measured,
        "goal": goal,
        "comparison": ">=" if higher_is_better else "<=",
        "met": met,
        "status": "met" if met else "missed",
        "text": (shown, ("≥ " if higher_is_better else "≤ ") + goal_shown, gap_shown),
    }


def evaluate_targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    load = results.get("load", {})
    targets = []
    ratio = load.get("list", {}).get("ratio")
    targets.append(_target("list req/s vs the raw floor", ratio, TARGETS["list_ratio"], True, "%"))
    for endpoint in ENDPOINTS:
        p99 = load.get(endpoint, {}).get("app", {}).get("p99_ms")
        targets.append(
            _target(
                f"p99 {ENDPOINT_LABELS[endpoint]} (app, 32 conn.)",
                p99,
                TARGETS["p99_ms"],
                False,
                "ms",
                "{:.1f}",
            )
        )
    suites = results.get("tests", {})
    for database, label in (("postgresql", "PostgreSQL"), ("sqlite", "SQLite")):
        value = suites.get(database, {}).get("ms_per_test")
        targets.append(
            _target(
                f"time per test, {label}",
                value,
                TARGETS[f"test_ms_{database}"],
                False,
                "ms",
                "{:.1f}",
            )
        )
    green = results.get("copier_to_green", {}).get("total_s")
    targets.append(
        _target(
            "copier copy → green tests (warm uv cache)",
            green,
            TARGETS["copier_to_green_s"],
            False,
            "s",
            "{:.1f}",
        )
    )
    cold = results.get("cold_start", {}).get("uv_run", {}).get("median_s")
    targets.append(
        _target(
            "cold start → /health/ready 200 (1 worker)",
            cold,
            TARGETS["cold_start_s"],
            False,
            "s",
            "{:.2f}",
        )
    )
    return targets


def render_markdown(results: dict[str, Any]) -> str:
    m = results["machine"]
    cfg = results["config"]
    v = results.get("versions", {})
    out = [
        f"Measured {m['date']} on {m['nproc']} CPUs ({m['cpu_model']}), {m['memory_gib']} GiB, "
        f"{m['os']}, Python {v.get('python', '?')} (service), PostgreSQL {m['postgresql']}, "
        f"{m['wrk']}; template {m['template_commit']} ({cfg['template']}). "
        f"Mode: {'quick' if cfg['quick'] else 'full'}: {cfg['rounds']} round(s) × "
        f"{cfg['duration_s']:g} s per endpoint per server after a {cfg['warmup_s']:g} s warm-up, "
        f"{cfg['connections']} connections, {cfg['threads']} wrk threads, "
        f"{cfg['workers']} workers each; medians over rounds.",
        "",
    ]
    load = results.get("load")
    if load:
        out += [
            "| Endpoint | App req/s | Floor req/s | App / floor | App p50 | App p99 | "
            "Floor p50 | Floor p99 | Server CPU per request, app / floor | "
            "PostgreSQL CPU per request, app / floor |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for endpoint in ENDPOINTS:
            row = load[endpoint]
            a, f = row["app"], row["floor"]
            out.append(
                f"| `{row['label']}` | {a['rps']:.0f} | {f['rps']:.0f} | {row['ratio']:.0%} | "
                f"{a['p50_ms']:.1f} ms | {a['p99_ms']:.1f} ms | {f['p50_ms']:.1f} ms | "
                f"{f['p99_ms']:.1f} ms | {a['server_cpu_ms_per_request']:.2f} / "
                f"{f['server_cpu_ms_per_request']:.2f} ms | "
                f"{a['postgres_cpu_ms_per_request']:.2f} / "
                f"{f['postgres_cpu_ms_per_request']:.2f} ms |"
            )
        errors = {
            f"{s}/{e}": load[e][s]["errors"]
            for e in ENDPOINTS
            for s in SERVERS
            if load[e][s]["errors"]
        }
        if errors:
            out += ["", f"**Errors during the load (non-2xx, socket): {errors}**"]
        busy = max(load[e].get("background_cpu_max", 0.0) for e in ENDPOINTS)
        if busy > 0.1:
            out += [
                "",
                f"**Other work on the machine: up to {busy:.0%} of the CPUs were busy "
                "just before a run (the benchmark idle); these numbers are noisier.**",
            ]
        out.append("")
    cache = results.get("cache")
    if cache:
        out += [
            "Item cache (`cache=true`, Redis on the same machine), `GET /api/v1/items/{id}` "
            "on the same 10,000 items, every one cached before the runs:",
            "",
            "| Server | req/s | p50 | p99 | Server CPU per request | "
            "PostgreSQL CPU per request | Errors |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for name, label in (("app", "without cache"), ("cache", "with cache")):
            c = cache[name]
            out.append(
                f"| {label} | {c['rps']:.0f} | {c['p50_ms']:.1f} ms | {c['p99_ms']:.1f} ms | "
                f"{c['server_cpu_ms_per_request']:.2f} ms | "
                f"{c['postgres_cpu_ms_per_request']:.2f} ms | {c['errors']} |"
            )
        out.append("")
    out += ["| Target | Measured | Goal | Status | Gap |", "| --- | ---: | ---: | --- | ---: |"]
    for t in results["targets"]:
        if t["measured"] is None:
            out.append(f"| {t['target']} | – | {t['goal']} | not measured | – |")
            continue
        shown, goal, gap = t["text"]
        status = "✅ met" if t["met"] else "❌ missed"
        out.append(f"| {t['target']} | {shown} | {goal} | {status} | {gap} |")
    out.append("")
    other = []
    for database, label in (("postgresql", "PostgreSQL"), ("sqlite", "SQLite")):
        s = results.get("tests", {}).get(database)
        if s:
            other.append(
                f"| Test suite on {label} | {s['tests']} tests: {s['ms_per_test']:.1f} ms/test "
                f"(call phase alone {s['ms_per_test_call_only']:.1f} ms, median "
                f"{s['ms_per_test_median']:.1f} ms, without the 3 slowest "
                f"{s['ms_per_test_without_3_slowest']:.1f} ms); slowest: "
                + ", ".join(
                    f"`{x['test'].rsplit('::', 1)[-1]}` {x['ms'] / 1000:.2f} s"
                    for x in s["slowest"][:3]
                )
                + f"; one-off setup {s['oneoff_s']:.2f} s; `uv run pytest` wall "
                f"{s['wall_s']:.1f} s |"
            )
    green = results.get("copier_to_green")
    if green:
        other.append(
            f"| copier copy → green | {green['total_s']:.1f} s = copier {green['copier_s']:.1f} s"
            f" + uv sync {green['sync_s']:.1f} s + pytest {green['pytest_s']:.1f} s |"
        )
    cold = results.get("cold_start")
    if cold:
        other.append(
            f"| Cold start (1 worker) | `uv run fastapi run`: {cold['uv_run']['median_s']:.2f} s "
            f"(runs {cold['uv_run']['runs_s']}); `.venv/bin/fastapi run`: "
            f"{cold['venv']['median_s']:.2f} s |"
        )
    memory = results.get("memory")
    if memory:
        for server in SERVERS:
            if server in memory:
                mm = memory[server]
                other.append(
                    f"| RSS per worker, {server} (after load) | {mm['rss_mib_per_worker']:.1f} MiB"
                    f" (PSS {mm['pss_mib_per_worker']:.1f} MiB; {mm['workers']} workers, "
                    f"{mm['rss_mib_total']:.1f} MiB in all) |"
                )
    if other:
        out += ["| Also measured | |", "| --- | --- |", *other, ""]
    return "\n".join(out)


def memory_summary(server: Server) -> dict[str, Any]:
    workers = server.workers()
    mem = [memory_kib(pid) for pid in workers]
    rss = sum(m["rss_kib"] for m in mem) / 1024
    pss = sum(m["pss_kib"] for m in mem) / 1024
    count = max(1, len(workers))
    return {
        "workers": len(workers),
        "rss_mib_total": rss,
        "rss_mib_per_worker": rss / count,
        "pss_mib_per_worker": pss / count,
        "per_worker_rss_mib": [round(m["rss_kib"] / 1024, 1) for m in mem],
    }


# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------


@dataclass
class Cleanup:
    servers: list[Server] = field(default_factory=list)
    databases: list[str] = field(default_factory=list)
    dirs: list[Path] = field(default_factory=list)

    def run(self, postgres: Postgres, keep: bool) -> None:
        for server in self.servers:
            with contextlib.suppress(Exception):
                server.stop()
        for database in self.databases:
            try:
                postgres.psql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
                log(f"dropped database {database}")
            except BenchError as exc:
                log(f"could not drop database {database}: {exc}")
        for path in self.dirs:
            if keep:
                log(f"kept {path}")
            else:
                shutil.rmtree(path, ignore_errors=True)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 1 round of 2 s, 1 s warm-up, no profile (< 2 min)",
    )
    parser.add_argument("--rounds", type=int, help="rounds per endpoint and server (3)")
    parser.add_argument("--duration", type=float, help="seconds per measured run (10)")
    parser.add_argument("--warmup", type=float, help="seconds of warm-up before each run (3)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--workers", type=int, default=2, help="server workers, app and floor")
    parser.add_argument(
        "--cold-starts",
        type=int,
        help="cold starts per command, median reported (3; 1 with --quick)",
    )
    parser.add_argument(
        "--profile",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="py-spy an app worker under list load (default: on, off if --quick)",
    )
    parser.add_argument("--profile-seconds", type=int, default=10)
    parser.add_argument(
        "--template",
        choices=("worktree", "head"),
        default="worktree",
        help="render the working tree (default, like the tests) or HEAD",
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "TEMPLATE_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
        ),
        help="a server where this user may create databases",
    )
    parser.add_argument(
        "--output",
        type=Path,
        help="results directory (default bench/results; files latest.* or quick.*)",
    )
    parser.add_argument(
        "--app-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra environment for the app server, e.g. DATABASE_POOL_SIZE=16 "
        "(to try a setting; results then go to <stem>-variant.*)",
    )
    parser.add_argument(
        "--suite-timeout",
        type=float,
        default=300,
        help="seconds before a generated test suite run is stopped (300)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    args = parser.parse_args(argv)
    quick = args.quick
    args.rounds = args.rounds or (1 if quick else 3)
    args.duration = args.duration or (2.0 if quick else 10.0)
    args.warmup = args.warmup if args.warmup is not None else (1.0 if quick else 3.0)
    args.cold_starts = args.cold_starts or (1 if quick else 3)
    if args.profile is None:
        args.profile = not quick
    args.output = args.output or RESULTS
    return args


@contextlib.contextmanager
def stage(results: dict[str, Any], key: str, label: str) -> Iterator[None]:
    """A measurement that may fail on its own (a hanging generated test, say): its error is
    recorded in results["errors"][key] and reported, and the run goes on."""
    log(label)
    start = time.perf_counter()
    try:
        yield
    except BenchError as exc:
        log(f"{label}: FAILED: {exc}")
        results.setdefault("errors", {})[key] = str(exc)[-4000:]
    finally:
        results.setdefault("stage_seconds", {})[key] = round(time.perf_counter() - start, 1)


def test_databases(postgres: Postgres) -> set[str]:
    """The generated suite's own databases (`test_<package>_<hex>` and the contract
    fuzzer's `fuzz_<package>_<hex>`), normally dropped by it."""
    rows = postgres.psql(
        f"SELECT datname FROM pg_database WHERE datname ~ '^(test|fuzz)_{PACKAGE}_'"
    )
    return set(rows.split())


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    stem = "quick" if args.quick else "latest"
    for item in args.app_env:
        key, sep, value = item.partition("=")
        if not sep:
            raise BenchError(f"--app-env wants KEY=VALUE, got {item!r}")
        APP_EXTRA_ENV[key] = value
    if APP_EXTRA_ENV:
        stem += "-variant"
    args.output.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    postgres = Postgres(args.postgres_url)
    postgres.psql("SELECT 1")
    wrk = ensure_wrk()
    config = LoadConfig(args.duration, args.warmup, args.rounds, args.connections, args.threads)
    results: dict[str, Any] = {
        "machine": machine_info(postgres, wrk, args.template),
        "config": {
            "quick": args.quick,
            "rounds": args.rounds,
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "connections": args.connections,
            "threads": args.threads,
            "workers": args.workers,
            "seed_items": SEED_ITEMS,
            "template": args.template,
            "cold_starts": args.cold_starts,
            "app_env": {"ENVIRONMENT": "production", "LOG_JSON": "true", **APP_EXTRA_ENV},
            "unset_for_measured_processes": [k for k in _BENCH_STRIPPED_ENV if k in os.environ],
        },
    }
    cleanup = Cleanup()
    work = Path(tempfile.mkdtemp(prefix="bench-"))
    cleanup.dirs.append(work)
    database = f"bench_{secrets.token_hex(6)}"
    suite_databases_before = test_databases(postgres)
    try:
        log(f"work directory {work}")
        template = snapshot_template(work / "template", args.template)

        # -- 1. PostgreSQL project: generate, install, migrate, seed -------------------
        project = work / "pg" / PACKAGE
        # auth=false: the load scripts call the items API without a token. Benchmarking
        # with auth on (a bearer token per request, owner-scoped queries) is still to do.
        answers = {"project_name": "Bench Service", "database": "postgresql", "auth": "false"}
        log("generating the PostgreSQL project and running uv sync")
        copier_copy(template, project, answers)
        run(["uv", "sync"], project, timeout=900)
        results["versions"] = versions = project_versions(project)
        postgres.psql(f'CREATE DATABASE "{database}"')
        cleanup.databases.append(database)
        database_url = postgres.sqlalchemy_url(database)
        run(["uv", "run", "alembic", "upgrade", "head"], project, {"DATABASE_URL": database_url})
        postgres.psql(
            "INSERT INTO items (name, description) SELECT 'item-' || g, "
            "'Seeded item ' || g || ' ' || md5(g::text) FROM generate_series(1, "
            f"{SEED_ITEMS}) AS g",
            database,
        )
        postgres.psql("VACUUM (ANALYZE) items", database)
        low, high = map(
            int, postgres.scalar("SELECT min(id) || ' ' || max(id) FROM items", database).split()
        )
        log(f"database {database}: {SEED_ITEMS} items seeded (ids {low}..{high})")

        # -- 2-4. Serve app and floor, drive them alternately -------------------------
        servers = {
            "app": app_server(project, database_url, free_port(), args.workers, work / "app.log"),
            "floor": floor_server(
                project, postgres.dsn(database), free_port(), args.workers, work / "floor.log"
            ),
        }
        for server in servers.values():
            cleanup.servers.append(server)
            server.start()
        for server in servers.values():
            server.wait_ready(timeout=90)
        time.sleep(1.0)  # one worker answered: give the other time to start too
        for name, server in servers.items():
            count = len(server.workers())
            if count != args.workers:
                raise BenchError(f"{name}: {count} worker processes, expected {args.workers}")
        log(
            f"serving app on :{servers['app'].port} and floor on :{servers['floor'].port}, "
            f"{args.workers} workers each"
        )
        runs = load_test(wrk, servers, config, postgres, database, (low, high))
        results["load"] = summarize_load(runs)
        results["load_runs"] = runs
        results["memory"] = {name: memory_summary(s) for name, s in servers.items()}
        with servers["app"].log_path.open("rb") as app_log:
            results["app_log_lines"] = sum(1 for _ in app_log)

        # -- Profile --------------------------------------------------------------------
        if args.profile:
            with stage(
                results,
                "profile",
                f"profiling one app worker for {args.profile_seconds} s under list load",
            ):
                prefix = "" if stem == "latest" else f"{stem}-"
                folded = args.output / f"{prefix}profile-list.folded"
                meta = profile_list(wrk, servers["app"], config, args.profile_seconds, folded)
                meta["connections"] = args.connections
                summary = summarize_profile(folded, meta, versions)
                (args.output / f"{prefix}profile-list.txt").write_text(summary)
                results["profile"] = {**meta, "summary": f"{prefix}profile-list.txt"}
                reset_items(postgres, database, high)
        for server in servers.values():
            server.stop()

        # -- 4b. The item cache (cache=true) against the same data ------------------------
        with stage(results, "cache", "GET item with and without the cache (Redis)"):
            cached_project = work / "cache" / PACKAGE
            copier_copy(template, cached_project, {**answers, "cache": "true"})
            run(["uv", "sync"], cached_project, timeout=900)
            prefix = f"bench-{secrets.token_hex(6)}:"
            plain = app_server(project, database_url, free_port(), args.workers, work / "app.log")
            cached = app_server(
                cached_project, database_url, free_port(), args.workers, work / "cache.log"
            )
            cached.name = "cache"
            cached.env["CACHE_KEY_PREFIX"] = prefix
            pair = {"app": plain, "cache": cached}
            for server in pair.values():
                cleanup.servers.append(server)
                server.start()
            try:
                for server in pair.values():
                    server.wait_ready(timeout=90)
                time.sleep(1.0)
                results["cache"] = cache_comparison(wrk, pair, config, database, (low, high))
            finally:
                for server in pair.values():
                    server.stop()
                delete_redis_keys(prefix)

        # -- 5a. Cold start ---------------------------------------------------------------
        with stage(results, "cold_start", f"cold start x{args.cold_starts}"):
            results["cold_start"] = {
                "uv_run": cold_start(
                    project, database_url, work / "cold.log", args.cold_starts, "uv"
                ),
                "venv": cold_start(
                    project, database_url, work / "cold.log", args.cold_starts, "venv"
                ),
            }

        # -- 5b. The generated suite on PostgreSQL --------------------------------------
        with stage(results, "tests_postgresql", "generated test suite on PostgreSQL"):
            results.setdefault("tests", {})["postgresql"] = suite_timing(
                project,
                {"DATABASE_URL": postgres.sqlalchemy_url("postgres")},
                work / "timing-pg.json",
                args.suite_timeout,
            )

        # -- 5c. copier copy -> green on a warm cache; the suite on SQLite ---------------
        green = work / "green" / "my_service"
        with stage(
            results,
            "copier_to_green",
            "copier copy -> green tests (SQLite, default answers), warm uv cache",
        ):
            warm = work / "warm" / "my_service"  # first: make sure the cache is warm
            copier_copy(template, warm, {})
            run(["uv", "sync"], warm, timeout=900)
            copier_s = copier_copy(template, green, {})
            sync_s = timed(["uv", "sync"], green, timeout=900)
            pytest_s = timed(["uv", "run", "pytest", "-q"], green, timeout=args.suite_timeout)
            results["copier_to_green"] = {
                "copier_s": copier_s,
                "sync_s": sync_s,
                "pytest_s": pytest_s,
                "total_s": copier_s + sync_s + pytest_s,
            }
        if (green / ".venv").is_dir():
            with stage(results, "tests_sqlite", "generated test suite on SQLite"):
                results.setdefault("tests", {})["sqlite"] = suite_timing(
                    green, {}, work / "timing-sqlite.json", args.suite_timeout
                )
    finally:
        leftovers = sorted(test_databases(postgres) - suite_databases_before)
        cleanup.databases.extend(leftovers)  # only if a suite was killed mid-run
        cleanup.run(postgres, args.keep)

    results["targets"] = evaluate_targets(results)
    results["elapsed_s"] = round(time.perf_counter() - started, 1)
    markdown = render_markdown(results)
    (args.output / f"{stem}.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    (args.output / f"{stem}.md").write_text(markdown + "\n")
    print(markdown)
    print(
        f"\nWrote {args.output / (stem + '.json')} and {stem}.md in {results['elapsed_s']:.0f} s."
    )
    return 1 if results.get("errors") else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:
        log(f"benchmark failed: {exc}")
        sys.exit(1)

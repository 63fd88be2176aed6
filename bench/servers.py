"""The servers under load: the generated app, the raw floor (bench/floor_app.py), their
worker processes, their memory and CPU, and the app's cold start."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shlex
import signal
import statistics
import subprocess
import time
import urllib.parse
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from template_harness.process import tail

from common import BENCH, BenchError, cpu_times, first_match, free_port, read_text, subprocess_env


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
                    f"its log:\n{tail(self.log_path.read_text(errors='replace'))}"
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
            f"{tail(self.log_path.read_text(errors='replace'))}"
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

    def command(self) -> str:
        """The command line, its port shown as PORT and its program relative to the project."""
        cmd = list(self.cmd)
        cmd[0] = cmd[0].removeprefix(f"{self.cwd}/")
        if "--port" in cmd:
            cmd[cmd.index("--port") + 1] = "PORT"
        return shlex.join(cmd)

    def workers(self) -> list[int]:
        """The uvicorn worker processes: its multiprocessing spawn children, or uvicorn itself
        when it runs in one process (no --workers, or --workers 1)."""
        if self.proc is None:
            return []
        below = descendants(self.proc.pid)
        spawned = [pid for pid in below if "spawn_main" in cmdline(pid)]
        return spawned or [pid for pid in below if "uvicorn" in cmdline(pid)]


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
    status = read_text(f"/proc/{pid}/status")
    rollup = read_text(f"/proc/{pid}/smaps_rollup")
    return {
        "rss_kib": int(first_match(r"^VmRSS:\s+(\d+)", status, "0")),
        "pss_kib": int(first_match(r"^Pss:\s+(\d+)", rollup, "0")),
    }


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
    busy0, total0 = cpu_times()
    yield out
    busy1, total1 = cpu_times()
    workers_after = cpu_seconds(server.workers())
    backends_after = cpu_seconds(postgres_backends(database))
    out["server_cpu_s"] = sum(t - workers_before.get(p, 0.0) for p, t in workers_after.items())
    out["postgres_cpu_s"] = sum(t - backends_before.get(p, 0.0) for p, t in backends_after.items())
    out["machine_busy"] = (busy1 - busy0) / (total1 - total0) if total1 > total0 else 0.0


APP_EXTRA_ENV: dict[str, str] = {}
"""--app-env KEY=VALUE: extra settings for the app (e.g. DATABASE_POOL_SIZE=16)."""


def image_command(project: Path) -> list[str]:
    """The generated Dockerfile's last `CMD [...]` (exec form): the production command."""
    lines = (project / "Dockerfile").read_text().splitlines()
    cmd = next((ln for ln in reversed(lines) if ln.startswith("CMD [")), None)
    if cmd is None:
        raise BenchError(f"no exec-form CMD in {project / 'Dockerfile'}")
    return list(json.loads(cmd.removeprefix("CMD ")))


def app_server(
    project: Path, env: Mapping[str, str], port: int, workers: int | None, log_path: Path
) -> Server:
    """The generated service as its Docker image runs it (`uv run` + the image's CMD, on
    127.0.0.1 and `port`), plus `--workers` unless `workers` is None (one process, as the
    image), with `env` (DATABASE_URL...) and the production settings."""
    cmd = image_command(project)
    for option, value in (("--host", "127.0.0.1"), ("--port", str(port))):
        if option in cmd:
            cmd[cmd.index(option) + 1] = value
        else:
            cmd += [option, value]
    if workers is not None:
        cmd += ["--workers", str(workers)]
    return Server(
        name="app",
        cmd=["uv", "run", *cmd],
        cwd=project,
        env={"ENVIRONMENT": "production", "LOG_JSON": "true", **env, **APP_EXTRA_ENV},
        port=port,
        log_path=log_path,
    )


def floor_server(
    project: Path, env: Mapping[str, str], port: int, workers: int, log_path: Path
) -> Server:
    """bench/floor_app.py, with the generated project's interpreter and libraries plus orjson
    (`uv run --with orjson`: an overlay, the project's environment stays as it is)."""
    return Server(
        name="floor",
        cmd=[
            "uv",
            "run",
            "--with",
            "orjson",
            "python",
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
        env={"PYTHONPATH": str(BENCH), **env},
        port=port,
        log_path=log_path,
    )


def access_token(server: Server, email: str, password: str) -> str:
    """Log in as the generated README shows (`POST /api/v1/auth/token`, the OAuth2 password
    form); the access token."""
    body = urllib.parse.urlencode({"username": email, "password": password})
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request(
            "POST",
            "/api/v1/auth/token",
            body,
            {"Content-Type": "application/x-www-form-urlencoded"},
        )
        response = conn.getresponse()
        data = response.read()
    finally:
        conn.close()
    if response.status != 200:
        raise BenchError(f"login: {response.status} {data[:500]!r}")
    return str(json.loads(data)["access_token"])


def start_servers(
    servers: Mapping[str, Server], started: list[Server], workers: int | None = None
) -> None:
    """Start `servers` (each appended to `started`, to be stopped at the end whatever
    happens), wait until all are ready and, given `workers`, check each has that many."""
    for server in servers.values():
        started.append(server)
        server.start()
    for server in servers.values():
        server.wait_ready(timeout=90)
    time.sleep(1.0)  # one worker answered: give the other time to start too
    if workers is None:
        return
    for name, server in servers.items():
        count = len(server.workers())
        if count != workers:
            raise BenchError(f"{name}: {count} worker processes, expected {workers}")


def cold_start(
    project: Path, env: Mapping[str, str], log_path: Path, runs: int, command: str
) -> dict[str, Any]:
    """Spawn -> first 200 from /health/ready of the image's command (one process), `runs`
    times: with `uv run` (`command` "uv") or the environment's own uvicorn ("venv", as the
    image runs it)."""
    times = []
    for _ in range(runs):
        server = app_server(project, env, free_port(), None, log_path)
        if command == "venv":  # the Dockerfile's way: the environment's bin first, no uv
            server.cmd = [str(project / ".venv" / "bin" / server.cmd[2]), *server.cmd[3:]]
        try:
            spawned = server.start()
            ready = server.wait_ready(timeout=60)
            times.append(ready - spawned)
        finally:
            server.stop()
    return {
        "command": server.command(),
        "runs_s": [round(t, 3) for t in times],
        "median_s": statistics.median(times),
    }

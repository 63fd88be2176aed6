"""Driving the servers with wrk (bench/lua/): the load test, the cache comparison, and the
load under which py-spy profiles an app worker."""

from __future__ import annotations

import http.client
import json
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from template_harness.process import tail
from template_harness.template import ROOT

from common import BENCH, BenchError, background_cpu, log, run, subprocess_env
from project import Postgres, seed_items
from servers import Server, cpu_accounting

LUA = BENCH / "lua"


ENDPOINTS = ("list", "get", "create")


ENDPOINT_LABELS = {
    "list": "GET /api/v1/items?limit=20&offset=0",
    "get": "GET /api/v1/items/{id}",
    "create": "POST /api/v1/items",
}


@dataclass
class LoadConfig:
    duration: float
    warmup: float
    rounds: int
    connections: int
    threads: int
    timeout: float = 5.0


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
        raise BenchError(f"wrk printed no BENCH_RESULT line:\n{tail(result.stdout)}")
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
    token: str | None,
) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """Rounds x endpoints x servers, the servers' order alternating each round; each
    measured run preceded by an unrecorded warm-up run of the same load. With `token`
    (auth on) every request carries it as its bearer token."""
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {
        s: {e: [] for e in ENDPOINTS} for s in servers
    }
    id_env = {"BENCH_MIN_ID": str(ids[0]), "BENCH_MAX_ID": str(ids[1]), "BENCH_TOKEN": token or ""}
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


def _answer(port: int, path: str, authorization: str | None) -> tuple[int, Any]:
    headers = {"Authorization": authorization} if authorization else {}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"null")
    finally:
        conn.close()


def check_same_answers(
    servers: Mapping[str, Server], ids: tuple[int, int], token: str | None
) -> int:
    """Ask app and floor the same questions (pages by offset and by key, with and without a
    total, past the end, an item, a missing one; with auth on also no and a forged token) and
    refuse to go on unless the answers are equal: the same status, the same JSON for a 2xx,
    the same problem `code` otherwise. The number of questions."""
    low, high = ids
    middle = (low + high) // 2
    bearer = f"Bearer {token}" if token else None
    questions = [
        ("/api/v1/items", bearer),
        ("/api/v1/items?limit=20&offset=0", bearer),
        (f"/api/v1/items?limit=7&offset=3&after={middle}", bearer),
        (f"/api/v1/items?limit=5&after={middle}&total=false", bearer),
        (f"/api/v1/items?after={high - 2}", bearer),
        ("/api/v1/items?offset=100000000", bearer),
        (f"/api/v1/items?after={high}&total=false", bearer),
        (f"/api/v1/items/{middle}", bearer),
        ("/api/v1/items/2000000000", bearer),
        ("/api/v1/items?limit=0", bearer),
    ]
    if token:
        questions += [("/api/v1/items", None), ("/api/v1/items/1", f"Bearer {token[:-4]}AAAA")]
    for path, authorization in questions:
        app, floor = (_answer(s.port, path, authorization) for s in servers.values())
        same = app[0] == floor[0] and (
            app[1] == floor[1] if app[0] < 300 else app[1].get("code") == floor[1].get("code")
        )
        if not same:
            raise BenchError(f"app and floor answer {path} differently:\n{app}\n{floor}")
    return len(questions)


SCALING_CONNECTIONS = 4
SCALING_SIZES = (10_000, 100_000, 1_000_000)


def keyset_scaling(
    wrk: str,
    server: Server,
    postgres: Postgres,
    database: str,
    sizes: Sequence[int],
    config: LoadConfig,
    token: str | None,
    owner_id: int | None,
) -> list[dict[str, Any]]:
    """List latency as the table grows to each of `sizes` rows (seeded with SQL, then
    analyzed): the first page by offset with its total (the default parameters) against a
    page by key deep in the table (`after` the row at 90 %) without one, each a short wrk
    run of SCALING_CONNECTIONS connections after a warm-up."""
    rows: list[dict[str, Any]] = []
    count = int(postgres.scalar("SELECT count(*) FROM items", database))
    for size in sizes:
        if size > count:
            seed_items(postgres, database, count + 1, size, owner_id)
            count = size
        after = int(
            postgres.scalar(
                f"SELECT id FROM items ORDER BY id OFFSET {size * 9 // 10} LIMIT 1", database
            )
        )
        row: dict[str, Any] = {"rows": size, "after": after}
        for kind, path in (
            ("offset_total", "/api/v1/items?limit=20&offset=0"),
            ("keyset", f"/api/v1/items?limit=20&after={after}&total=false"),
        ):
            env = {"BENCH_PATH": path, "BENCH_TOKEN": token or ""}
            if config.warmup > 0:
                wrk_run(wrk, server, "list", config.warmup, config, env)
            result = wrk_run(wrk, server, "list", config.duration, config, env)
            row[kind] = {
                "path": path,
                **{k: result[k] for k in ("rps", "p50_ms", "p99_ms", "requests", "error_count")},
            }
            log(
                f"scaling {size:>9,} rows {kind:12} {result['rps']:8.1f} req/s  "
                f"p50 {result['p50_ms']:7.2f} ms  p99 {result['p99_ms']:7.2f} ms"
                + (f"  ERRORS {result['errors']}" if result["error_count"] else "")
            )
        rows.append(row)
    return rows


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


def profile_list(
    wrk: str, server: Server, config: LoadConfig, seconds: int, folded: Path, token: str | None
) -> dict[str, Any]:
    """py-spy on one app worker while wrk loads the list endpoint (with `token` as the bearer
    token, if given); raw (folded) stacks."""
    workers = server.workers()
    if not workers:
        raise BenchError("no app worker process found to profile")
    pid = workers[0]
    env = {"BENCH_LUA_DIR": str(LUA), "BENCH_TAG": "profile", "BENCH_TOKEN": token or ""}
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

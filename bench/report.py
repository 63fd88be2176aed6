"""The numbers as reported: the machine, the profile summary, the targets, the Markdown table."""

from __future__ import annotations

import datetime as dt
import os
import platform
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from template_harness.template import ROOT

from common import first_match, read_text, run
from load import ENDPOINT_LABELS, ENDPOINTS
from project import PACKAGE, Postgres

SERVERS = ("app", "floor")


MODE_LABELS = {"auth_off": "auth off", "auth_on": "auth on"}


TARGETS = {
    "list_ratio": 0.40,  # list req/s >= 40 % of the floor's in the same mode, same run
    "p99_ms": 50.0,  # at 32 connections, list, get and create, auth on
    "list_cpu_ratio": 2.0,  # server CPU per list request <= 2 x the floor's, same mode
    "copier_to_green_s": 20.0,  # warm uv cache
    "cold_start_s": 1.0,  # the image's command, 1 process
    "rss_mib_per_worker": 80.0,  # app, after the load
}


def machine_info(postgres: Postgres, wrk: str, template: str) -> dict[str, Any]:
    cpuinfo = Path("/proc/cpuinfo").read_text(errors="replace")
    meminfo = Path("/proc/meminfo").read_text()
    mem_kib = int(first_match(r"^MemTotal:\s+(\d+)", meminfo, "0"))
    wrk_banner = run([wrk, "-v"], ROOT, check=False).stdout
    wrk_version = "wrk " + first_match(r"^wrk\s+(?:debian/)?(\S+)", wrk_banner)
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
        "cpu_model": first_match(r"^model name\s*:\s*(.+)$", cpuinfo),
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "kernel": platform.release(),
        "os": first_match(r'^PRETTY_NAME="?([^"\n]+)', read_text("/etc/os-release")),
        "harness_python": platform.python_version(),
        "postgresql": postgres.scalar("SHOW server_version"),
        "wrk": wrk_version,
        "uv": run(["uv", "--version"], ROOT).stdout.strip(),
        "template_commit": commit + ("+dirty" if dirty else ""),
    }


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
        "Profile of one app worker under wrk load on GET /api/v1/items?limit=20&offset=0"
        + (" (auth on: a superuser's bearer token)" if meta.get("mode") == "auth_on" else ""),
        "=" * 72,
        f"py-spy record --pid <worker> --rate {meta['rate_hz']} --nonblocking --format raw "
        f"for {meta['seconds']} s, while wrk ran {meta.get('connections', 32)} connections "
        "against the app (all its workers) on the list endpoint.",
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
    memory = results.get("memory", {})
    targets = []
    for mode, label in MODE_LABELS.items():
        ratio = load.get(mode, {}).get("list", {}).get("ratio")
        targets.append(
            _target(f"list req/s vs the floor, {label}", ratio, TARGETS["list_ratio"], True, "%")
        )
    for endpoint in ENDPOINTS:
        p99 = load.get("auth_on", {}).get(endpoint, {}).get("app", {}).get("p99_ms")
        targets.append(
            _target(
                f"p99 {ENDPOINT_LABELS[endpoint]} (app, auth on, 32 conn.)",
                p99,
                TARGETS["p99_ms"],
                False,
                "ms",
                "{:.1f}",
            )
        )
    for mode, label in MODE_LABELS.items():
        row = load.get(mode, {}).get("list", {})
        cpu = None
        if row.get("floor", {}).get("server_cpu_ms_per_request"):
            cpu = (
                row["app"]["server_cpu_ms_per_request"] / row["floor"]["server_cpu_ms_per_request"]
            )
        targets.append(
            _target(
                f"server CPU per list request, app / floor, {label}",
                cpu,
                TARGETS["list_cpu_ratio"],
                False,
                "×",
                "{:.2f}",
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
    cold = results.get("cold_start", {}).get("venv", {}).get("median_s")
    targets.append(
        _target(
            "cold start → /health/ready 200 (image's command, 1 process)",
            cold,
            TARGETS["cold_start_s"],
            False,
            "s",
            "{:.2f}",
        )
    )
    for mode, label in MODE_LABELS.items():
        rss = memory.get(mode, {}).get("app", {}).get("rss_mib_per_worker")
        targets.append(
            _target(
                f"RSS per app worker after the load, {label}",
                rss,
                TARGETS["rss_mib_per_worker"],
                False,
                "MiB",
                "{:.1f}",
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
    for mode, label in MODE_LABELS.items():
        load = results.get("load", {}).get(mode)
        if not load:
            continue
        out += [
            f"**{label.capitalize()}** (`{results['config']['app_command'][mode]}`"
            + (", a superuser's bearer token on every request" if mode == "auth_on" else "")
            + "), against the floor in the same mode:",
            "",
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
    scaling = results.get("scaling")
    if scaling:
        out += [
            f"List latency as the table grows (app, {cfg['workers']} workers, "
            f"{cfg['scaling_connections']} connections, {cfg['scaling_duration_s']:g} s per "
            "point): the first page by offset with its total (`?limit=20&offset=0`, the "
            "defaults) against a page by key at 90 % of the table "
            "(`?limit=20&after=<id>&total=false`):",
            "",
            "| Mode | Rows | Offset + total: p50 / p99 | req/s | Keyset: p50 / p99 | req/s |",
            "| --- | ---: | ---: | ---: | ---: | ---: |",
        ]
        for mode, label in MODE_LABELS.items():
            for row in scaling.get(mode, []):
                o, k = row["offset_total"], row["keyset"]
                errors = o["error_count"] + k["error_count"]
                out.append(
                    f"| {label} | {row['rows']:,} | {o['p50_ms']:.1f} / {o['p99_ms']:.1f} ms | "
                    f"{o['rps']:.0f} | {k['p50_ms']:.1f} / {k['p99_ms']:.1f} ms | "
                    f"{k['rps']:.0f}{f' ({errors} errors)' if errors else ''} |"
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
            f"| Cold start (auth on, 1 process) | `{cold['venv']['command']}`: "
            f"{cold['venv']['median_s']:.2f} s (runs {cold['venv']['runs_s']}); with `uv run` "
            f"in front: {cold['uv']['median_s']:.2f} s |"
        )
    for mode, label in MODE_LABELS.items():
        for server, mm in results.get("memory", {}).get(mode, {}).items():
            other.append(
                f"| RSS per worker, {server}, {label} (after load) | "
                f"{mm['rss_mib_per_worker']:.1f} MiB (PSS {mm['pss_mib_per_worker']:.1f} MiB; "
                f"{mm['workers']} workers, {mm['rss_mib_total']:.1f} MiB in all) |"
            )
    if other:
        out += ["| Also measured | |", "| --- | --- |", *other, ""]
    return "\n".join(out)

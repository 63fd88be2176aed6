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
import json
import os
import secrets
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common import BENCH, BENCH_STRIPPED_ENV, BenchError, free_port, log
from load import (
    LoadConfig,
    cache_comparison,
    delete_redis_keys,
    ensure_wrk,
    load_test,
    profile_list,
    reset_items,
    summarize_load,
)
from project import (
    PACKAGE,
    SEED_ITEMS,
    Postgres,
    copier_to_green,
    make_project,
    migrate_and_seed,
    project_versions,
    snapshot_template,
    suite_timing,
    test_databases,
)
from report import evaluate_targets, machine_info, render_markdown, summarize_profile
from servers import (
    APP_EXTRA_ENV,
    Server,
    app_server,
    cold_start,
    floor_server,
    memory_summary,
    start_servers,
)

RESULTS = BENCH / "results"


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
            "unset_for_measured_processes": [k for k in BENCH_STRIPPED_ENV if k in os.environ],
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
        make_project(template, project, answers)
        results["versions"] = versions = project_versions(project)
        postgres.psql(f'CREATE DATABASE "{database}"')
        cleanup.databases.append(database)
        database_url = postgres.sqlalchemy_url(database)
        low, high = migrate_and_seed(project, postgres, database)

        # -- 2-4. Serve app and floor, drive them alternately -------------------------
        servers = {
            "app": app_server(project, database_url, free_port(), args.workers, work / "app.log"),
            "floor": floor_server(
                project, postgres.dsn(database), free_port(), args.workers, work / "floor.log"
            ),
        }
        start_servers(servers, cleanup.servers, args.workers)
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
            make_project(template, cached_project, {**answers, "cache": "true"})
            prefix = f"bench-{secrets.token_hex(6)}:"
            plain = app_server(project, database_url, free_port(), args.workers, work / "app.log")
            cached = app_server(
                cached_project, database_url, free_port(), args.workers, work / "cache.log"
            )
            cached.name = "cache"
            cached.env["CACHE_KEY_PREFIX"] = prefix
            pair = {"app": plain, "cache": cached}
            try:
                start_servers(pair, cleanup.servers)
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
            results["copier_to_green"] = copier_to_green(template, work, green, args.suite_timeout)
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

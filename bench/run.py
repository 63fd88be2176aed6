"""Benchmark harness for the template: one command, not part of the test suite.

    uv run python bench/run.py            # full run (~12 min), writes bench/results/latest.*
    uv run python bench/run.py --quick    # smoke run (~4 min), writes bench/results/quick.*

It generates two PostgreSQL projects from the template's working tree, one with auth off
and one with it on (the default), installs, migrates and seeds each in a database of its
own, serves each with its Docker image's command (`uvicorn <package>.main:app ...`, plus
`--workers 2`, JSON logs to a file) next to a raw Starlette + asyncpg + orjson floor
(bench/floor_app.py) in the same mode on the same database, drives both alternately with
wrk, and measures how list latency grows with the table (offset + total against keyset),
the item cache, the generated test suite, `copier copy` -> green tests, cold start and
memory. Optionally profiles one app worker under load with py-spy. bench/README.md
explains every number. Needs: uv, wrk (installed with apt-get if missing), PostgreSQL
with a `postgres` user that may create databases (trust authentication) on
127.0.0.1:5432, or the server in --postgres-url, and psql.
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
    SCALING_CONNECTIONS,
    SCALING_SIZES,
    LoadConfig,
    cache_comparison,
    check_same_answers,
    delete_redis_keys,
    ensure_wrk,
    keyset_scaling,
    load_test,
    profile_list,
    summarize_load,
)
from project import (
    PACKAGE,
    SEED_ITEMS,
    SUPERUSER_EMAIL,
    Postgres,
    copier_to_green,
    create_superuser,
    make_project,
    migrate,
    project_versions,
    seed_items,
    snapshot_template,
    suite_timing,
    test_databases,
)
from report import evaluate_targets, machine_info, render_markdown, summarize_profile
from servers import (
    APP_EXTRA_ENV,
    Server,
    access_token,
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
        help="smoke run: 1 round of 2 s, 1 s warm-up, no profile, scaling to 100,000 rows",
    )
    parser.add_argument("--rounds", type=int, help="rounds per endpoint and server (3)")
    parser.add_argument("--duration", type=float, help="seconds per measured run (8)")
    parser.add_argument("--warmup", type=float, help="seconds of warm-up before each run (2)")
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
    args.duration = args.duration or (2.0 if quick else 8.0)
    args.warmup = args.warmup if args.warmup is not None else (1.0 if quick else 2.0)
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


@dataclass
class Mode:
    """One generated project with its own database: auth off, or on (the default answers)."""

    key: str
    auth: bool
    project: Path
    database: str
    app_env: dict[str, str]
    """DATABASE_URL, and with auth the signing key and a token lifetime longer than the run."""
    floor_env: dict[str, str]
    ids: tuple[int, int] = (0, 0)
    owner_id: int | None = None
    password: str = ""
    token: str | None = None


MODES = {"auth_off": False, "auth_on": True}


def prepare_mode(
    key: str, template: Path, work: Path, postgres: Postgres, cleanup: Cleanup
) -> Mode:
    """Generate and sync the project, make and migrate its database, seed SEED_ITEMS items
    (with auth: owned by a superuser made with the project's create_superuser)."""
    auth = MODES[key]
    answers = {"project_name": "Bench Service", "database": "postgresql"}
    if not auth:
        answers["auth"] = "false"
    project = work / key / PACKAGE
    log(f"generating the PostgreSQL project ({key}) and running uv sync")
    make_project(template, project, answers)
    database = f"bench_{secrets.token_hex(6)}_{key}"
    postgres.psql(f'CREATE DATABASE "{database}"')
    cleanup.databases.append(database)
    app_env = {"DATABASE_URL": postgres.sqlalchemy_url(database)}
    floor_env = {"FLOOR_DSN": postgres.dsn(database)}
    mode = Mode(key, auth, project, database, app_env, floor_env)
    migrate(project, app_env["DATABASE_URL"])
    if auth:
        secret = secrets.token_hex(32)
        app_env |= {"AUTH_SECRET_KEY": secret, "ACCESS_TOKEN_MINUTES": str(24 * 60)}
        floor_env |= {"FLOOR_AUTH": "1", "AUTH_SECRET_KEY": secret}
        mode.password = secrets.token_urlsafe(18)
        mode.owner_id = create_superuser(project, app_env, mode.password)
    mode.ids = seed_items(postgres, database, 1, SEED_ITEMS, mode.owner_id)
    return mode


def serve(mode: Mode, work: Path, workers: int, cleanup: Cleanup, floor: bool) -> dict[str, Server]:
    """The mode's app (and floor) started and ready; with auth, logged in once (mode.token)."""
    servers = {
        "app": app_server(
            mode.project, mode.app_env, free_port(), workers, work / f"app-{mode.key}.log"
        )
    }
    if floor:
        servers["floor"] = floor_server(
            mode.project, mode.floor_env, free_port(), workers, work / f"floor-{mode.key}.log"
        )
    start_servers(servers, cleanup.servers, workers)
    if mode.auth and mode.token is None:
        mode.token = access_token(servers["app"], SUPERUSER_EMAIL, mode.password)
    return servers


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
    scaling_sizes = SCALING_SIZES[:2] if args.quick else SCALING_SIZES
    scaling_config = LoadConfig(1.0 if args.quick else 3.0, 1.0, 1, SCALING_CONNECTIONS, 1)
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
            "modes": list(MODES),
            "scaling_sizes": list(scaling_sizes),
            "scaling_connections": SCALING_CONNECTIONS,
            "scaling_duration_s": scaling_config.duration,
            "template": args.template,
            "cold_starts": args.cold_starts,
            "app_env": {"ENVIRONMENT": "production", "LOG_JSON": "true", **APP_EXTRA_ENV},
            "unset_for_measured_processes": [k for k in BENCH_STRIPPED_ENV if k in os.environ],
        },
    }
    cleanup = Cleanup()
    work = Path(tempfile.mkdtemp(prefix="bench-"))
    cleanup.dirs.append(work)
    suite_databases_before = test_databases(postgres)
    try:
        log(f"work directory {work}")
        template = snapshot_template(work / "template", args.template)

        # -- 1-5. Per mode: generate, seed, serve app and floor, drive them alternately -----
        modes: dict[str, Mode] = {}
        for key in MODES:
            modes[key] = mode = prepare_mode(key, template, work, postgres, cleanup)
            results.setdefault("versions", project_versions(mode.project))
            servers = serve(mode, work, args.workers, cleanup, floor=True)
            results["config"].setdefault("app_command", {})[key] = servers["app"].command()
            questions = check_same_answers(servers, mode.ids, mode.token)
            log(
                f"{key}: app on :{servers['app'].port} and floor on :{servers['floor'].port}, "
                f"{args.workers} workers each, the same answers to {questions} requests"
            )
            runs = load_test(wrk, servers, config, postgres, mode.database, mode.ids, mode.token)
            results.setdefault("load", {})[key] = summarize_load(runs)
            results.setdefault("load_runs", {})[key] = runs
            results.setdefault("memory", {})[key] = {
                name: memory_summary(s) for name, s in servers.items()
            }
            with servers["app"].log_path.open("rb") as app_log:
                results.setdefault("app_log_lines", {})[key] = sum(1 for _ in app_log)

            # -- Profile (auth on: the default answers) ---------------------------------
            if args.profile and mode.auth:
                with stage(
                    results,
                    "profile",
                    f"profiling one app worker for {args.profile_seconds} s under list load",
                ):
                    prefix = "" if stem == "latest" else f"{stem}-"
                    folded = args.output / f"{prefix}profile-list.folded"
                    meta = profile_list(
                        wrk, servers["app"], config, args.profile_seconds, folded, mode.token
                    )
                    meta["connections"] = args.connections
                    meta["mode"] = key
                    summary = summarize_profile(folded, meta, results["versions"])
                    (args.output / f"{prefix}profile-list.txt").write_text(summary)
                    results["profile"] = {**meta, "summary": f"{prefix}profile-list.txt"}
            for server in servers.values():
                server.stop()

        # -- 6. The item cache (cache=true, auth off) against the same data ---------------
        with stage(results, "cache", "GET item with and without the cache (Redis), auth off"):
            plain_mode = modes["auth_off"]
            cached_project = work / "cache" / PACKAGE
            make_project(
                template,
                cached_project,
                {"project_name": "Bench Service", "database": "postgresql", "auth": "false"}
                | {"cache": "true"},
            )
            prefix = f"bench-{secrets.token_hex(6)}:"
            plain = app_server(
                plain_mode.project, plain_mode.app_env, free_port(), args.workers, work / "app.log"
            )
            cached = app_server(
                cached_project, plain_mode.app_env, free_port(), args.workers, work / "cache.log"
            )
            cached.name = "cache"
            cached.env["CACHE_KEY_PREFIX"] = prefix
            pair = {"app": plain, "cache": cached}
            try:
                start_servers(pair, cleanup.servers)
                results["cache"] = cache_comparison(
                    wrk, pair, config, plain_mode.database, plain_mode.ids
                )
            finally:
                for server in pair.values():
                    server.stop()
                delete_redis_keys(prefix)

        # -- 7. Keyset scaling: list latency from 10,000 rows up, per mode (app) -----------
        for key, mode in modes.items():
            with stage(results, f"scaling_{key}", f"list latency as the table grows ({key})"):
                servers = serve(mode, work, args.workers, cleanup, floor=False)
                try:
                    results.setdefault("scaling", {})[key] = keyset_scaling(
                        wrk,
                        servers["app"],
                        postgres,
                        mode.database,
                        scaling_sizes,
                        scaling_config,
                        mode.token,
                        mode.owner_id,
                    )
                finally:
                    servers["app"].stop()

        # -- 8. Cold start (auth on: the default answers) -----------------------------------
        default_mode = modes["auth_on"]
        with stage(results, "cold_start", f"cold start x{args.cold_starts}"):
            results["cold_start"] = {
                command: cold_start(
                    default_mode.project,
                    default_mode.app_env,
                    work / "cold.log",
                    args.cold_starts,
                    command,
                )
                for command in ("venv", "uv")
            }

        # -- 9. The generated suite on PostgreSQL (auth on) -------------------------------
        with stage(results, "tests_postgresql", "generated test suite on PostgreSQL"):
            results.setdefault("tests", {})["postgresql"] = suite_timing(
                default_mode.project,
                {"DATABASE_URL": postgres.sqlalchemy_url("postgres")},
                work / "timing-pg.json",
                args.suite_timeout,
            )

        # -- 10. copier copy -> green on a warm cache; the suite on SQLite ----------------
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

"""pytest plugin for bench/run.py: the time a generated project's suite spends per test.

Loaded into the generated project's own pytest with `-p pytest_timing` (bench/ on
PYTHONPATH); it changes nothing in the run and writes JSON to $BENCH_TIMING_OUT:

- per test: the setup, call and teardown phases' durations (as pytest reports them);
- the one-off part of them: the setup of fixtures scoped wider than a function (the
  session's database, its migration, the app), measured around each such fixture, and
  their teardown (dropping the database), measured from the end of the test's last
  function-scoped finalizer to the end of its teardown phase.

Per-test cost = (sum of all phases - one-off setup - one-off teardown) / tests: what each
test costs, its own fixtures included (a connection, a transaction, a client), without the
run's fixed costs (interpreter start, imports, collection, creating and migrating the
database), which the wall time includes.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Generator
from typing import Any

import pytest

_phases: dict[str, dict[str, float]] = {}
_outcomes: dict[str, str] = {}
_oneoff_setup: dict[str, float] = {}
_oneoff_teardown: dict[str, float] = {}
_state: dict[str, Any] = {"current": None, "last_function_finalizer": None, "wide_finalized": False}
_started = time.perf_counter()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, object, object]:
    _state["current"] = item.nodeid
    try:
        return (yield)
    finally:
        _state["current"] = None


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(
    fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest
) -> Generator[None, object, object]:
    start = time.perf_counter()
    try:
        return (yield)
    finally:
        current = _state["current"]
        if fixturedef.scope != "function" and current is not None:
            elapsed = time.perf_counter() - start
            _oneoff_setup[current] = _oneoff_setup.get(current, 0.0) + elapsed


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(
    item: pytest.Item, nextitem: pytest.Item | None
) -> Generator[None, object, object]:
    start = time.perf_counter()
    _state["last_function_finalizer"] = start
    _state["wide_finalized"] = False
    try:
        return (yield)
    finally:
        if _state["wide_finalized"]:
            _oneoff_teardown[item.nodeid] = time.perf_counter() - _state["last_function_finalizer"]


def pytest_fixture_post_finalizer(
    fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest
) -> None:
    if fixturedef.scope == "function":
        _state["last_function_finalizer"] = time.perf_counter()
    else:
        _state["wide_finalized"] = True


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if type(report) is not pytest.TestReport:
        return  # a subtest's report (pytest's `subtests`): the test's own report follows
    _phases.setdefault(report.nodeid, {})[report.when] = report.duration
    if report.when == "call" or report.outcome != "passed":
        _outcomes[report.nodeid] = report.outcome


def pytest_unconfigure(config: pytest.Config) -> None:
    path = os.environ.get("BENCH_TIMING_OUT")
    if not path:
        return
    tests = {
        nodeid: {
            **phases,
            "outcome": _outcomes.get(nodeid, "unknown"),
            "oneoff_setup": _oneoff_setup.get(nodeid, 0.0),
            "oneoff_teardown": _oneoff_teardown.get(nodeid, 0.0),
        }
        for nodeid, phases in _phases.items()
    }
    with open(path, "w", encoding="utf-8") as out:
        json.dump({"tests": tests, "plugin_seconds": time.perf_counter() - _started}, out)

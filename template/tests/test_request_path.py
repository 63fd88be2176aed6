"""Nothing on the request path runs on the thread pool.

FastAPI runs a plain `def` endpoint or dependency in a worker thread: a hop there and back
per call, and a pool of 40 threads that a burst of requests queues on. Every endpoint and
every dependency the app declares is a coroutine (or an async generator).
"""

import inspect
from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import iter_route_contexts


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    """The callables of `dependant` and of every dependency below it."""
    if dependant.call is not None:
        yield dependant.call
    for dependency in dependant.dependencies:
        yield from _calls(dependency)


def _is_async(call: Callable[..., Any]) -> bool:
    """Whether FastAPI awaits `call` on the event loop (a class instance: its `__call__`)."""
    method = None if inspect.isroutine(call) or inspect.isclass(call) else type(call).__call__
    return any(
        inspect.iscoroutinefunction(candidate) or inspect.isasyncgenfunction(candidate)
        for candidate in (call, method)
    )


def test_every_endpoint_and_dependency_is_async(app: FastAPI) -> None:
    routes = [
        (context.path, dependant)
        for context in iter_route_contexts(app.routes)
        if isinstance(dependant := getattr(context, "dependant", None), Dependant)
    ]
    on_threads = sorted(
        {
            f"{path}: {getattr(call, '__qualname__', type(call).__qualname__)}"
            for path, dependant in routes
            for call in _calls(dependant)
            if not _is_async(call)
        }
    )

    assert routes
    assert on_threads == []

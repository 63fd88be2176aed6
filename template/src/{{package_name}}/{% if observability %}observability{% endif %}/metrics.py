"""Prometheus metrics at GET /metrics.

Requests by method, route and status, their duration, and the requests in flight. Each app has a
registry of its own (not the process-wide default), so apps built side by side, as in tests, count
separately.

/metrics needs no authentication: serve it on an internal network only (keep it off
the public ingress, or turn it off with METRICS_ENABLED=false).
"""

import time
from typing import cast

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.routing import iter_route_contexts
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import generate_latest
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

UNMATCHED_ROUTE = "<unmatched>"
"""The route label of requests no route matched: raw paths would make the number of time
series unbounded (every scanner's probe a new one)."""
OTHER_METHOD = "_OTHER"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

router = APIRouter(include_in_schema=False)


class HttpMetrics:
    """The HTTP metrics of one app, on its own registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        """Register the request counter, duration histogram and in-flight gauge on `registry`."""
        self.registry = registry
        self.requests = Counter(
            "http_requests",
            "HTTP requests answered, by method, route template and status.",
            ["method", "route", "status"],
            registry=registry,
        )
        self.duration = Histogram(
            "http_request_duration_seconds",
            "Time from the request's arrival to the end of its response.",
            ["method", "route"],
            registry=registry,
        )
        self.in_flight = Gauge(
            "http_requests_in_flight", "HTTP requests being handled.", registry=registry
        )


class MetricsMiddleware:
    """Plain ASGI middleware; the route is resolved after the app has answered."""

    def __init__(self, app: ASGIApp, metrics: HttpMetrics) -> None:
        """Wrap `app`, counting its HTTP requests in `metrics`."""
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection; HTTP requests are counted and timed."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        method = scope["method"] if scope["method"] in _METHODS else OTHER_METHOD
        app = cast(FastAPI, scope["app"])  # before a mounted app could replace it
        self.metrics.in_flight.inc()
        start = time.perf_counter()
        try:
            await self.app(scope, receive, send_with_status)
        finally:
            route = route_template(app, scope)
            self.metrics.requests.labels(method, route, str(status)).inc()
            self.metrics.duration.labels(method, route).observe(time.perf_counter() - start)
            self.metrics.in_flight.dec()


def route_template(app: FastAPI, scope: Scope) -> str:
    """The path template of the route that serves `scope` (`/api/v1/items/{item_id}`).

    Matched here rather than read from `scope["route"]`: since FastAPI 0.137 that is
    the route as declared in its router, without the prefixes of `include_router`.
    """
    partial = None
    for route in iter_route_contexts(app.routes):
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return route.path_format or UNMATCHED_ROUTE
        if match is Match.PARTIAL and partial is None:  # path known, method not (405)
            partial = route.path_format
    return partial or UNMATCHED_ROUTE


def add_metrics(app: FastAPI) -> None:
    """Count the app's requests and serve them at /metrics."""
    metrics = HttpMetrics(CollectorRegistry())
    app.state.metrics = metrics
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.include_router(router)


@router.get("/metrics")
async def serve_metrics(request: Request) -> Response:
    """The app's metrics in the Prometheus text format."""
    metrics = cast(HttpMetrics, request.app.state.metrics)
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

"""The observability feature of the app.

A tracer provider of its own (server and SQL spans), and Prometheus metrics at /metrics.
"""

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from opentelemetry.sdk.trace import TracerProvider

from ..core.features import Feature
from .metrics import add_metrics
from .settings import ObservabilitySettings
from .tracing import create_tracer_provider, start_tracing, stop_tracing, telemetry_config


class ObservabilityFeature(Feature):
    """Tracing on `app.state.tracer_provider`, and the metrics middleware and route.

    The provider is made with the app and exports while the app runs; metrics are off with
    `METRICS_ENABLED=false`.
    """

    def __init__(self) -> None:
        """No provider until the app is created (`app_options`)."""
        self._tracer_provider: TracerProvider | None = None

    def app_options(self, settings: ObservabilitySettings) -> Mapping[str, Any]:
        """FastAPI's own telemetry, on a tracer provider of this app's."""
        self._tracer_provider = create_tracer_provider(settings)
        return {"telemetry": telemetry_config(self._tracer_provider)}

    def setup(self, app: FastAPI, settings: ObservabilitySettings) -> None:
        """Keep the provider on the app, and count its requests."""
        app.state.tracer_provider = self._tracer_provider
        if settings.metrics_enabled:
            add_metrics(app)

    @asynccontextmanager
    async def lifespan(self, app: FastAPI, settings: ObservabilitySettings) -> AsyncIterator[None]:
        """Export spans and trace the engine's SQL while the app runs.

        Send what is buffered on shutdown.
        """
        start_tracing(app.state.tracer_provider, settings, app.state.engine)
        try:
            yield
        finally:
            await stop_tracing(app.state.tracer_provider)

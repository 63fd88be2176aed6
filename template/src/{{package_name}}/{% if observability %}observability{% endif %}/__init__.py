"""Observability: OpenTelemetry tracing and Prometheus metrics."""

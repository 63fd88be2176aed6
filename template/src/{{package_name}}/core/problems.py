"""RFC 9457 problem details: the one JSON shape of every error response."""

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException

from .errors import AppError, DatabaseUnavailableError
from .http_methods import allowed_methods

logger = structlog.stdlib.get_logger(__name__)

# PostgreSQL cancelled the statement (statement_timeout).
_QUERY_CANCELED = "57014"

PROBLEM_CONTENT_TYPE = "application/problem+json"
REQUEST_TOO_LARGE = "request_too_large"

# Stable codes for the HTTP errors Starlette and FastAPI raise themselves. (Deriving them
# from `HTTPStatus` names would not be stable: Python 3.13 renamed 413 and 422.)
_HTTP_ERROR_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: REQUEST_TOO_LARGE,
    415: "unsupported_media_type",
    429: "too_many_requests",
}


class Problem(BaseModel):
    """Problem details (RFC 9457) plus a machine-readable `code` and the `request_id`."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    type: str = "about:blank"
    """A URI naming the kind of problem; `about:blank` when `status` says it all."""
    title: str
    """A short summary of the kind of problem, the same for every occurrence."""
    status: int
    """The HTTP status code of the response."""
    detail: str | None = None
    """What went wrong this time, for a human reader."""
    instance: str | None = None
    """The path of the request that went wrong."""
    code: str
    """A stable, machine-readable name of the kind of problem (`item_not_found`)."""
    request_id: str | None = None
    """The request's id, also in the `X-Request-ID` header: quote it in a bug report."""
    errors: list[dict[str, Any]] | None = None
    """For a validation error (422): each invalid field's location, message and type."""


def problem_response(
    *,
    status: int,
    code: str,
    title: str | None = None,
    detail: str | None = None,
    instance: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """A problem-details response, carrying the current request's id."""
    problem = Problem(
        title=title or HTTPStatus(status).phrase,
        status=status,
        detail=detail,
        instance=instance,
        code=code,
        request_id=structlog.contextvars.get_contextvars().get("request_id"),
        errors=errors,
    )
    return JSONResponse(
        problem.model_dump(exclude_none=True),
        status_code=status,
        media_type=PROBLEM_CONTENT_TYPE,
        headers=headers,
    )


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries documenting problem bodies for `statuses`."""
    return {
        status: {"model": Problem, "description": HTTPStatus(status).phrase} for status in statuses
    }


async def _app_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)  # noqa: S101 - registered for AppError only
    return problem_response(
        status=exc.status_code,
        code=exc.code,
        title=exc.title,
        detail=exc.detail,
        instance=request.url.path,
        headers=exc.headers,
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)  # noqa: S101 - registered for HTTPException only
    headers = exc.headers
    if exc.status_code == 405 and (allowed := allowed_methods(request.app.routes, request.scope)):
        # The router's `Allow` names the methods of the first route that matched the
        # path only; RFC 9110 wants every method of the path.
        headers = {**(headers or {}), "Allow": ", ".join(allowed)}
    return problem_response(
        status=exc.status_code,
        code=_HTTP_ERROR_CODES.get(exc.status_code, f"http_{exc.status_code}"),
        detail=str(exc.detail) if exc.detail else None,
        instance=request.url.path,
        headers=headers,
    )


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)  # noqa: S101 - registered for it only
    errors = [
        {"loc": list(error["loc"]), "msg": error["msg"], "type": error["type"]}
        for error in exc.errors()
    ]
    return problem_response(
        status=422,
        code="validation_error",
        title="Request validation failed",
        detail=f"{len(errors)} invalid field(s)",
        instance=request.url.path,
        errors=errors,
    )


def is_database_unavailable(exc: BaseException) -> bool:
    """Whether `exc` means the database could not be reached or did not answer in time.

    As opposed to a bug, such as invalid SQL.
    """
    if isinstance(exc, sa_exc.DBAPIError):
        return (
            isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError)
            or exc.connection_invalidated
            or getattr(exc.orig, "sqlstate", None) == _QUERY_CANCELED
        )
    # Raised as they are by drivers while connecting, and by the pool when it is exhausted.
    return isinstance(exc, ConnectionError | TimeoutError | sa_exc.TimeoutError)


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    if not is_database_unavailable(exc):
        raise exc
    logger.warning("database_unavailable", error=f"{type(exc).__name__}: {exc}"[:500])
    return await _app_error(request, DatabaseUnavailableError())


def add_problem_handlers(app: FastAPI) -> None:
    """Render every expected error as problem details.

    Unexpected errors are rendered by `RequestContextMiddleware`, which also logs them.
    """
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    for database_error in (sa_exc.DBAPIError, sa_exc.TimeoutError, ConnectionError, TimeoutError):
        app.add_exception_handler(database_error, _database_error)
    _document_problems(app)


def _document_problems(app: FastAPI) -> None:
    """Complete the OpenAPI schema with what FastAPI does not document.

    Error responses are `application/problem+json` (FastAPI documents every response
    model as `application/json`), and every operation that reads a body documents 400,
    FastAPI's answer to a body it cannot parse at all (JSON that is not UTF-8, a broken
    form; malformed JSON is a 422).
    """
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()  # also cached as app.openapi_schema: changed in place below
        for path_item in schema.get("paths", {}).values():
            for operation in path_item.values():
                responses = operation.setdefault("responses", {})
                if "requestBody" in operation and "400" not in responses:
                    problem = {"schema": {"$ref": "#/components/schemas/Problem"}}
                    responses["400"] = {
                        "description": "The request body could not be parsed",
                        "content": {"application/json": problem},
                    }
                    operation["responses"] = responses = dict(sorted(responses.items()))
                    components = schema.setdefault("components", {})
                    components.setdefault("schemas", {}).setdefault(
                        "Problem", Problem.model_json_schema()
                    )
                for status, response in responses.items():
                    content = response.get("content", {})
                    if status[:1] in "45" and "application/json" in content:
                        content[PROBLEM_CONTENT_TYPE] = content.pop("application/json")
        return schema

    app.openapi = openapi  # type: ignore[method-assign]

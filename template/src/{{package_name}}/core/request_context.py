"""Request context: a request id, an access-log line, and the last-resort 500.

Every log line and response carries the request id; each request logs one access line;
an error nothing else handled becomes a problem-details 500.
"""

import re
import time
import uuid

import structlog
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .logs import redacting_credentials
from .problems import problem_response

REQUEST_ID_HEADER = "X-Request-ID"
# An incoming id is kept only if it is short and harmless to log and echo back.
_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")

logger = structlog.stdlib.get_logger("access")


class RequestContextMiddleware:
    """Bind a request id to the logs and the response, log each request, render crashes.

    Plain ASGI middleware (no `BaseHTTPMiddleware`), so context vars propagate and
    streaming responses are untouched.
    """

    def __init__(self, app: ASGIApp) -> None:
        """Wrap `app`."""
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one HTTP request (other scopes pass through untouched)."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        incoming = dict(scope["headers"]).get(REQUEST_ID_HEADER.lower().encode(), b"")
        request_id = incoming.decode("latin-1")
        if not _VALID_REQUEST_ID.fullmatch(request_id):
            request_id = uuid.uuid4().hex
        status = 500
        response_started = False

        async def send_with_request_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        start = time.perf_counter()
        with (
            structlog.contextvars.bound_contextvars(request_id=request_id),
            redacting_credentials(scope["headers"]),
        ):
            try:
                await self.app(scope, receive, send_with_request_id)
            except Exception:
                logger.exception("unhandled_error")
                if response_started:
                    raise
                response = problem_response(
                    status=500, code="internal_error", instance=scope["path"]
                )
                await response(scope, receive, send_with_request_id)
            finally:
                logger.info(
                    "request",
                    method=scope["method"],
                    path=scope["path"],
                    client=client[0] if (client := scope.get("client")) else None,
                    status=status,
                    duration_ms=round((time.perf_counter() - start) * 1000, 2),
                )

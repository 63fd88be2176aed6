"""HTTP method semantics the router leaves out (RFC 9110).

`HEAD` wherever `GET` is served, `OPTIONS` answered with the methods of the path, and
(through `allowed_methods`, used by the 405 problem handler) an `Allow` header that lists
all of them.
"""

from collections.abc import Sequence

from starlette.responses import Response
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The methods a route may serve, in the order `Allow` lists them.
_ROUTABLE_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _routed(routes: Sequence[BaseRoute], scope: Scope, method: str) -> bool:
    """Whether a route serves `method` at the request's path."""
    probe = {**scope, "method": method}
    return any(route.matches(probe)[0] is Match.FULL for route in routes)


def allowed_methods(routes: Sequence[BaseRoute], scope: Scope) -> list[str]:
    """The methods the request's path supports, `HEAD` and `OPTIONS` included.

    Empty when no route serves the path.
    """
    methods = [method for method in _ROUTABLE_METHODS if _routed(routes, scope, method)]
    if not methods:
        return []
    if "GET" in methods:
        methods.insert(1, "HEAD")
    return [*methods, "OPTIONS"]


class HttpMethodsMiddleware:
    """Answer `HEAD` and `OPTIONS` for every path that has routes.

    `HEAD` runs the `GET` route and drops the body (same status and headers); `OPTIONS`
    answers 204 with `Allow`. Add it inside `CORSMiddleware`, which answers CORS
    preflights (`OPTIONS` with `Access-Control-Request-Method`) itself.
    """

    def __init__(self, app: ASGIApp, *, routes: Sequence[BaseRoute]) -> None:
        """Wrap `app`, whose `routes` say which methods each path supports."""
        self.app = app
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one request: answer it here, or pass it on."""
        method = scope.get("method") if scope["type"] == "http" else None
        if method not in ("HEAD", "OPTIONS") or _routed(self.routes, scope, method):
            await self.app(scope, receive, send)
        elif method == "OPTIONS" and (allowed := allowed_methods(self.routes, scope)):
            await Response(status_code=204, headers={"Allow": ", ".join(allowed)})(
                scope, receive, send
            )
        elif method == "HEAD" and _routed(self.routes, scope, "GET"):
            await self.app({**scope, "method": "GET"}, receive, _without_body(send))
        else:  # not found, or not allowed: the router answers
            await self.app(scope, receive, send)


def _without_body(send: Send) -> Send:
    """`send`, passing the response's start and one empty body.

    The start keeps its status and headers (`Content-Length` too, as RFC 9110 allows for
    `HEAD`).
    """

    async def send_head(message: Message) -> None:
        if message["type"] == "http.response.body":
            if message.get("more_body", False):
                return
            message = {"type": "http.response.body", "body": b"", "more_body": False}
        await send(message)

    return send_head

"""How the OpenAPI document names operations, for readers and for generated clients."""

from fastapi.routing import APIRoute


def operation_id(route: APIRoute) -> str:
    """The `operationId` of `route`: the name of its function (`list_users`, `login`).

    It stays the same when a path or a prefix moves, and reads well as the method name
    of a generated client. Function names must therefore be unique across the app (a
    test checks it); a route that needs another name passes `operation_id=` itself.
    It also names the schema FastAPI makes for a body of several parameters (`Body_<name>`).
    """
    return route.name

"""What a feature adds to the app, and the lifespan that runs every feature's.

A feature (the database, the cache, auth, ...) owns its wiring: the arguments it gives
`FastAPI(...)`, the middleware and checks it adds when the app is created, what it opens
for the app's lifetime (put on `app.state`, closed on shutdown), its readiness check and
its routers. The app factory lists the features; each hook has a default that does
nothing, so a feature overrides only what it needs.

A feature types `settings` with its own settings class (which `settings.Settings`
combines): features never import the combined class, so it can import theirs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager, nullcontext
from typing import TYPE_CHECKING, Any, Literal, cast

from fastapi import APIRouter, FastAPI

if TYPE_CHECKING:
    from ..settings import Settings

Readiness = Literal["ok", "degraded"]
"""A readiness check's answer: `degraded` is ready, with something optional missing."""


class Feature:
    """One part of the service that owns its wiring; every hook is optional."""

    routers: Sequence[APIRouter] = ()
    """Routers served under the API's prefix (`/api/v1`), in this order."""

    def app_options(self, settings: Settings) -> Mapping[str, Any]:
        """Keyword arguments for `FastAPI(...)`."""
        return {}

    def setup(self, app: FastAPI, settings: Settings) -> None:
        """Check the settings and add middleware when the app is created.

        Raise to refuse to start.
        """

    def lifespan(self, app: FastAPI, settings: Settings) -> AbstractAsyncContextManager[None]:
        """Open what the feature needs on `app.state` while the app runs.

        Close it when the context exits.
        """
        return nullcontext()

    async def check_ready(self, app: FastAPI, settings: Settings) -> Readiness:
        """Whether what the feature depends on answers.

        Raise a `ServiceUnavailableError` when the app cannot serve without it.
        """
        return "ok"


def app_features(app: FastAPI) -> Sequence[Feature]:
    """The features `app` was created with."""
    return cast(Sequence[Feature], app.state.features)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Enter each feature's lifespan in order, and exit them in reverse order on shutdown.

    If one fails to start, those already open are closed before the error goes on.
    """
    settings = cast("Settings", app.state.settings)
    async with AsyncExitStack() as stack:
        for feature in app_features(app):
            await stack.enter_async_context(feature.lifespan(app, settings))
        yield

"""The application factory: everything is built here, nothing at import time."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from . import health
from .database import create_engine, create_sessionmaker
from .defaults import APP_TITLE
from .items.router import router as items_router
from .logs import configure_logging
from .problems import add_problem_handlers
from .request_context import RequestContextMiddleware
from .settings import Settings


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Open the database engine for the app's lifetime and dispose it on shutdown."""
    engine = create_engine(app.state.settings)
    app.state.engine = engine
    app.state.sessionmaker = create_sessionmaker(engine)
    try:
        yield
    finally:
        await engine.dispose()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    configure_logging(settings)
    app = FastAPI(title=APP_TITLE, debug=settings.debug, lifespan=lifespan)
    app.state.settings = settings
    add_problem_handlers(app)
    app.add_middleware(RequestContextMiddleware)
    app.include_router(health.router)
    app.include_router(items_router, prefix="/api/v1")
    return app

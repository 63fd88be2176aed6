"""The application factory: everything is built here, nothing at import time."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from . import health
from .database import create_engine, create_sessionmaker
from .defaults import APP_TITLE
from .items.router import router as items_router
from .logs import configure_logging
from .problems import add_problem_handlers
from .request_context import REQUEST_ID_HEADER, RequestContextMiddleware
from .security import BodySizeLimitMiddleware, SecurityHeadersMiddleware
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
    docs = settings.serve_docs
    app = FastAPI(
        title=APP_TITLE,
        debug=settings.debug,
        lifespan=lifespan,
        openapi_url="/openapi.json" if docs else None,
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
    )
    app.state.settings = settings
    add_problem_handlers(app)
    # Middleware runs outermost last-added first: request context wraps everything.
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_request_body_bytes)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials=settings.cors_allow_credentials,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=[REQUEST_ID_HEADER],
        )
    app.add_middleware(SecurityHeadersMiddleware, hsts=settings.environment == "production")
    app.add_middleware(RequestContextMiddleware)
    app.include_router(health.router)
    app.include_router(items_router, prefix="/api/v1")
    return app

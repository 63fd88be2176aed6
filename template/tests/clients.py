"""HTTP clients for apps under test: httpx over ASGI, no server, no network."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient


def client_for(app: FastAPI) -> AsyncClient:
    return AsyncClient(transport=ASGITransport(app=app), base_url="http://test")


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[AsyncClient]:
    """A client for `app` with the app's lifespan (engine and all) running around it."""
    async with app.router.lifespan_context(app), client_for(app) as client:
        yield client

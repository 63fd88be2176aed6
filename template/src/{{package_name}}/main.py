"""ASGI entry point for servers (`fastapi run`, uvicorn).

The only module that builds the app when imported. Tests and tools call `create_app` instead.
"""

from .app import create_app

app = create_app()

"""The service's package: `main.app` is the ASGI application, `app.create_app` builds it."""

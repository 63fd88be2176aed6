"""Shared infrastructure: database, errors and problem documents, request context,
security headers, logs and health; the domains build on it and it knows none of them."""

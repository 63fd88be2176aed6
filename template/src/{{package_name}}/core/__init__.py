"""Shared infrastructure: the domains build on it, and it knows none of them.

The database, errors and problem documents, request context, security headers, logs,
health, and the small kit the domains share (pagination, timestamps).
"""

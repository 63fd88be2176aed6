"""Helpers shared by the template's tests (tests/support.py) and its benchmark (bench/).

The root pyproject.toml installs this package (editable) into the repository's own
environment, so both import it as `template_harness` with no path set-up:

- `process`: the environment for a generated project's tools and the tail of their output;
- `postgres`: psql against a PostgreSQL server given by an SQLAlchemy URL;
- `template`: the repository's root, a copy of the template's working tree, rendering it.

Nothing here depends on pytest: test-only behaviour (failing or skipping a test) stays in
tests/support.py.
"""

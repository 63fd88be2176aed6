"""Fixtures shared by the template's tests; the helpers are in support.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import ProjectCache, generate, snapshot_template


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The template as it is on disk now, copied once per session (see snapshot_template)."""
    return snapshot_template(tmp_path_factory.mktemp("template") / "template")


@pytest.fixture(scope="session")
def projects(template: Path, tmp_path_factory: pytest.TempPathFactory) -> ProjectCache:
    """Generated and `uv sync`ed projects, one per set of answers, for the whole session."""
    return ProjectCache(template=template, tmp_path_factory=tmp_path_factory)


@pytest.fixture(scope="session")
def default_project(template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project generated with every default answer (not synced); do not modify it."""
    return generate(template, tmp_path_factory.mktemp("defaults") / "my-service")

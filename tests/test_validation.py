"""Answers that would break the generated project are refused, and nothing is written."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import copier_cli

INVALID = [
    ("package_name", "class", "Python keyword"),
    ("package_name", "1abc", "not a valid package name"),
    ("package_name", "my-pkg", "not a valid package name"),
    ("package_name", "Foo", "not a valid package name"),
    ("package_name", "json", "standard library"),
    ("package_name", "asyncio", "standard library"),
    ("package_name", "fastapi", "module the project depends on"),
    ("project_slug", "Bad Slug", "not a valid distribution name"),
    ("project_slug", "-x", "not a valid distribution name"),
    ("author_email", "not-an-email", "not a valid email address"),
    ("author_email", "a@b", "not a valid email address"),
    ("author_email", "a b@c.com", "not a valid email address"),
    ("python_version", "3.9", "Invalid choice"),
    ("database", "mysql", "Invalid choice"),
]


@pytest.mark.parametrize(
    ("question", "value", "message"),
    [pytest.param(*case, id=f"{case[0]}={case[1]}") for case in INVALID],
)
def test_invalid_answer_is_refused(
    template: Path, tmp_path: Path, question: str, value: str, message: str
) -> None:
    dst = tmp_path / "out"
    result = copier_cli(
        "copy", "--defaults", "-d", f"{question}={value}", template, dst, cwd=tmp_path, check=False
    )
    assert result.returncode != 0, f"{question}={value!r} was accepted:\n{result.stdout}"
    assert question in result.stdout, result.stdout
    assert value in result.stdout, result.stdout
    assert message in result.stdout, result.stdout
    assert not dst.exists() or not any(dst.iterdir()), (
        f"files were written for a refused answer: {sorted(p.name for p in dst.iterdir())}"
    )


@pytest.mark.parametrize(
    ("question", "value"),
    [
        ("package_name", "orders_api"),
        ("project_slug", "orders2-api"),
        ("author_email", "first.last+tag@mail.example.co.uk"),
        ("python_version", "3.11"),
        ("database", "postgresql"),
    ],
)
def test_valid_answer_is_accepted(
    template: Path, tmp_path: Path, question: str, value: str
) -> None:
    """The validators refuse no ordinary answer (guards against over-strict rules)."""
    dst = tmp_path / "out"
    result = copier_cli(
        "copy", "--defaults", "-d", f"{question}={value}", template, dst, cwd=tmp_path, check=False
    )
    assert result.returncode == 0, result.stdout
    assert (dst / ".copier-answers.yml").is_file()

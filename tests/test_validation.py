"""Answers that would break the generated project are refused, and nothing is written."""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

import copier
import jinja2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import (
    PYTHON_VERSIONS,
    REFUSED_CHARACTERS,
    ROOT,
    ProjectCache,
    copier_cli,
    find_python,
    read_answers,
    require_postgres,
    require_python,
    run,
)

INVALID = [
    ("package_name", "class", "Python keyword"),
    ("package_name", "1abc", "not a valid package name"),
    ("package_name", "my-pkg", "not a valid package name"),
    ("package_name", "Foo", "not a valid package name"),
    ("package_name", "json", "standard library"),
    ("package_name", "asyncio", "standard library"),
    ("package_name", "fastapi", "module the project depends on"),
    ("package_name", "jwt", "module the project depends on"),
    ("package_name", "redis", "module the project depends on"),
    ("package_name", "taskiq", "module the project depends on"),
    ("package_name", "limits", "module the project depends on"),
    ("package_name", "pwdlib", "module the project depends on"),
    ("package_name", "argon2", "module the project depends on"),
    ("package_name", "hypothesis", "module the project depends on"),
    ("package_name", "test", "standard library"),
    ("package_name", "_private", "not a valid package name"),
    ("package_name", "a" * 25, "more than 24"),
    ("project_slug", "a" * 41, "more than the 40"),
    ("project_slug", "a-" * 12 + "b", "more than 24"),  # the package name derived from it
    ("project_name", "   ", "cannot be empty"),
    ("project_name", "日本", "distribution name is empty"),  # no slug derives from it
    ("author_name", "Alice, Bob", "cannot hold a comma"),
    ("author_name", "Team <team@example.com>", "cannot hold a comma"),
    ("project_slug", "Bad Slug", "not a valid distribution name"),
    ("project_slug", "-x", "not a valid distribution name"),
    ("author_email", "not-an-email", "not a valid email address"),
    ("author_email", "a@b", "not a valid email address"),
    ("author_email", "a b@c.com", "not a valid email address"),
    ("author_email", 'a"b@c.com', "not a valid email address"),
    ("author_email", "a\\b@c.com", "not a valid email address"),
    ("auth", "maybe", "must be true or false"),
    ("auth", "2", "must be true or false"),
    ("worker", "none", "must be true or false"),
    ("cache", "nan", "must be true or false"),
    ("observability", "", "must be true or false"),
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
    assert message in result.stdout, result.stdout
    assert question in result.stdout, result.stdout
    assert value.strip() in result.stdout, result.stdout
    assert not dst.exists() or not any(dst.iterdir()), (
        f"files were written for a refused answer: {sorted(p.name for p in dst.iterdir())}"
    )


BOOLEANS = {
    name: {"true": True, "on": True, "false": False, "0": False}
    for name in ("auth", "worker", "cache", "observability")
}


@pytest.mark.parametrize(
    ("question", "value"),
    [
        ("package_name", "orders_api"),
        ("package_name", "a" * 24),
        ("project_slug", "orders2-api"),
        ("author_email", "first.last+tag@mail.example.co.uk"),
        ("author_email", "o'brien@example.com"),
        ("python_version", "3.11"),
        ("database", "postgresql"),
        ("auth", "false"),
        ("cache", "on"),
        ("observability", "0"),
    ],
)
def test_valid_answer_is_accepted(
    template: Path, tmp_path: Path, question: str, value: str
) -> None:
    """The validators refuse no ordinary answer (guards against over-strict rules; free text
    is test_answers.py's property test)."""
    dst = tmp_path / "out"
    result = copier_cli(
        "copy", "--defaults", "-d", f"{question}={value}", template, dst, cwd=tmp_path, check=False
    )
    assert result.returncode == 0, result.stdout
    recorded = read_answers(dst)
    if question in BOOLEANS:
        assert recorded[question] is BOOLEANS[question][value], recorded


# ---------------------------------------------------------------------------
# One-line answers: line breaks and control characters
# ---------------------------------------------------------------------------

VISIBLE = st.characters(codec="utf-8", exclude_characters=REFUSED_CHARACTERS)


@settings(max_examples=40, deadline=None, database=None)
@given(
    question=st.sampled_from(
        [
            "project_name",
            "description",
            "author_name",
            "author_email",
            "project_slug",
            "package_name",
        ]
    ),
    before=st.text(VISIBLE, max_size=10),
    refused=st.sampled_from(REFUSED_CHARACTERS),
    after=st.text(VISIBLE, max_size=10),
)
def test_line_breaks_and_control_characters_are_refused(
    template: Path, question: str, before: str, refused: str, after: str
) -> None:
    """Whatever surrounds it, one refused character is refused, before anything is written
    (copier's API: a command line cannot carry a NUL)."""
    value = f"a{before}{refused}{after}"
    if question == "author_email":
        value = f"{value}@example.com"
    with tempfile.TemporaryDirectory() as tmp:
        dst = Path(tmp) / "out"
        with pytest.raises(ValueError, match="must be one line of visible text") as refusal:
            copier.run_copy(
                str(template),
                str(dst),
                data={question: value},
                defaults=True,
                unsafe=False,
                quiet=True,
            )
        assert f"'{question}'" in str(refusal.value)
        assert repr(refused) in str(refusal.value), "the message names the character"
        assert not dst.exists() or not any(dst.iterdir())


# ---------------------------------------------------------------------------
# package_name: no module of the generated environment
# ---------------------------------------------------------------------------

PACKAGE_PATTERN = re.compile(r"[a-z][a-z0-9_]*")
"""What the package_name validator lets through before its lists of reserved names."""

LIST_MODULES = """
import importlib.machinery, json, os, sys
suffixes = tuple(importlib.machinery.all_suffixes())
names = set(sys.builtin_module_names) | set(sys.stdlib_module_names)
for entry in sys.path:
    if not entry or not os.path.isdir(entry):
        continue
    for name in os.listdir(entry):
        if os.path.isdir(os.path.join(entry, name)):
            names.add(name)
        elif name.endswith(suffixes):
            names.add(name.split(".")[0])
print(json.dumps(sorted(names)))
"""
"""Every top-level name `import` finds: modules built into the interpreter, the standard
library, and every directory (package, namespace package) or module file on sys.path."""


def reserved_names() -> tuple[set[str], set[str]]:
    """The standard-library and dependency lists of includes/reserved-names.jinja."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(ROOT / "includes"))
    module = env.get_template("reserved-names.jinja").module
    return set(module.stdlib_modules), set(module.dependency_modules)  # type: ignore[attr-defined]


def importable_names(python: Path | str, cwd: Path, *flags: str) -> set[str]:
    names = json.loads(run([python, *flags, "-c", LIST_MODULES], cwd=cwd).stdout)
    return {name for name in names if PACKAGE_PATTERN.fullmatch(name)}


ALL_OPTIONS = {"worker": "true", "cache": "true", "observability": "true"}


@pytest.mark.parametrize(
    "answers",
    [
        pytest.param({}, id="sqlite-auth"),
        pytest.param({"auth": "false", **ALL_OPTIONS}, id="sqlite-noauth-all-options"),
        pytest.param(
            {"database": "postgresql", **ALL_OPTIONS},
            id="postgresql-auth-all-options",
            marks=pytest.mark.slow,
        ),
    ],
)
def test_package_name_refuses_every_module_of_the_generated_environment(
    projects: ProjectCache, answers: dict[str, str]
) -> None:
    """The environment `uv sync` builds (dependencies, the dev group's tools, and theirs):
    a package named after any of its modules would shadow it, so each must be refused."""
    if answers.get("database") == "postgresql":
        require_postgres()
    project = projects.get(**answers)
    python = project.path / ".venv" / "bin" / "python"
    # -I: sys.path is the interpreter's and the environment's, not the project directory.
    found = importable_names(python, project.path, "-I") - {project.package}
    stdlib, dependencies = reserved_names()
    missing = found - stdlib - dependencies
    assert not missing, (
        "modules of the generated environment that package_name accepts; add them to "
        f"dependency_modules in includes/reserved-names.jinja: {sorted(missing)}"
    )


@pytest.mark.parametrize("minor", PYTHON_VERSIONS)
def test_package_name_refuses_the_whole_standard_library(minor: str, tmp_path: Path) -> None:
    """Each offered Python's own modules, the `test` package and the built-in ones included."""
    require_python(minor)
    python = find_python(minor)
    assert python is not None
    found = importable_names(python, tmp_path, "-I", "-S")
    stdlib, _ = reserved_names()
    missing = found - stdlib
    assert not missing, (
        f"Python {minor} modules that package_name accepts; add them to stdlib_modules in "
        f"includes/reserved-names.jinja: {sorted(missing)}"
    )


@pytest.mark.parametrize("which", ["stdlib", "dependencies"])
def test_validator_refuses_the_listed_names(template: Path, tmp_path: Path, which: str) -> None:
    """The validator reads the lists: the first and last name of each are refused."""
    stdlib, dependencies = reserved_names()
    listed = stdlib if which == "stdlib" else dependencies
    names = sorted(name for name in listed if PACKAGE_PATTERN.fullmatch(name))
    for name in (names[0], names[-1]):
        with pytest.raises(ValueError, match="the package would shadow it"):
            copier.run_copy(
                str(template),
                str(tmp_path / name),
                data={"package_name": name},
                defaults=True,
                unsafe=False,
                quiet=True,
            )

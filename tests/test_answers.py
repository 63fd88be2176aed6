"""Free-text answers reach the generated files escaped for each file's format.

Property tests render the template (no `uv sync`: fast) with arbitrary one-line text for
`project_name`, `description` and `author_name`, and read each answer back from the files it
went into: Python (ast), TOML, YAML, JSON and Markdown (test_validation.py checks that the
text they refuse, line breaks and control characters, is refused). The nasty answers of
support.NASTY_ANSWERS run the generated project's own checks in test_generated_project.py;
here they are read back from the installed project.
"""

from __future__ import annotations

import ast
import json
import shutil
import tempfile
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from support import (
    NASTY_ANSWERS,
    PWNED,
    REFUSED_CHARACTERS,
    Project,
    ProjectCache,
    generate,
    project_files,
)

ALL_OPTIONS = {"worker": "true", "cache": "true", "observability": "true"}
# Python 3.11: the oldest offered, whose syntax the interpreter running these tests parses.
FIXED = {
    "project_slug": "prop-test",
    "package_name": "prop_test",
    "python_version": "3.11",
    **ALL_OPTIONS,
}
EMAIL = "o'brien+x@example.com"

# Any text the validators accept: no refused character (and, in an author's name, none of
# the characters the package metadata gives a meaning to).
VISIBLE = st.characters(codec="utf-8", exclude_characters=REFUSED_CHARACTERS)
NAME_CHARS = st.characters(codec="utf-8", exclude_characters=REFUSED_CHARACTERS + ",<>@")
NAMES = st.text(VISIBLE, min_size=1, max_size=120).filter(str.strip)
DESCRIPTIONS = st.text(VISIBLE, max_size=200)
AUTHORS = st.text(NAME_CHARS, min_size=1, max_size=60).filter(str.strip)

MARKDOWN = MarkdownIt("commonmark").enable(["table", "strikethrough"])

PROPERTY_SETTINGS = settings(
    max_examples=20,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@pytest.fixture
def render(template: Path) -> Iterator[object]:
    """A function rendering the template into a fresh directory, removed afterwards."""
    made: list[Path] = []

    def _render(answers: dict[str, str]) -> Path:
        dst = Path(tempfile.mkdtemp(prefix="template-answers-")) / "project"
        made.append(dst.parent)
        return generate(template, dst, {**FIXED, **answers})

    yield _render
    for path in made:
        shutil.rmtree(path, ignore_errors=True)


def python_constant(path: Path, name: str) -> object:
    for node in ast.parse(path.read_text(), str(path)).body:
        if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == [
            name
        ]:
            return ast.literal_eval(node.value)
    pytest.fail(f"{path} assigns no {name}", pytrace=False)


def markdown_blocks(path: Path) -> list[str]:
    """The plain text of each heading and paragraph, in order; every inline token must be
    plain text (no emphasis, link, code or HTML came out of an answer)."""
    blocks = []
    for token in MARKDOWN.parse(path.read_text()):
        if token.type != "inline":
            continue
        parts = []
        for child in token.children or []:
            if child.type in {"text", "text_special"}:
                parts.append(child.content)
            elif child.type in {"softbreak", "hardbreak"}:
                parts.append("\n")
            else:
                parts.append(f"<{child.type}>")
        blocks.append("".join(parts))
    return blocks


def assert_files_load(project: Path, *, python: bool = True) -> None:
    """Every Python (unless not `python`), TOML, JSON and YAML file the template wrote
    parses."""
    for path in project_files(project):
        text = path.read_text()
        try:
            if path.suffix == ".py" and python:
                ast.parse(text, str(path))
            elif path.suffix == ".toml":
                tomllib.loads(text)
            elif path.suffix == ".json":
                json.loads(text)
            elif path.suffix in {".yml", ".yaml"}:
                list(yaml.safe_load_all(text))
        except (SyntaxError, ValueError, yaml.YAMLError) as exc:
            pytest.fail(f"{path.relative_to(project)} does not load: {exc}", pytrace=False)


def assert_answers_read_back(project: Path, package: str, answers: dict[str, str]) -> None:
    """Each answer comes back, unchanged, from every file it was written into."""
    name, description, author = (
        answers["project_name"],
        answers["description"],
        answers["author_name"],
    )
    defaults = project / "src" / package / "core" / "defaults.py"
    assert python_constant(defaults, "APP_TITLE") == name

    pyproject = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    assert pyproject["description"] == description
    assert pyproject["authors"] == [{"name": author, "email": answers["author_email"]}]

    recorded = yaml.safe_load((project / ".copier-answers.yml").read_text())
    for question in ("project_name", "description", "author_name", "author_email"):
        assert recorded[question] == answers[question], question

    readme = markdown_blocks(project / "README.md")
    assert readme[0] == name.strip()
    if description.strip():
        assert readme[1] == description.strip()
    claude = markdown_blocks(project / "CLAUDE.md")
    assert claude[0] == f"{name.strip()}: guide for coding agents"
    if description.strip():
        assert claude[1] == description.strip()


@PROPERTY_SETTINGS
@given(name=NAMES, description=DESCRIPTIONS, author=AUTHORS)
@example(name=NASTY_ANSWERS["project_name"], description="", author="x")
@example(
    name='x"""; import os; os.system("touch /tmp/x"); """',
    description="\\\" \\u0041 ''' \"\"\" \\",
    author="\\",
)
@example(name="- a", description="1) b", author="# c")
@example(name="   #   ", description="    indented", author="*")
def test_free_text_answers_are_read_back_from_every_format(
    render: object, name: str, description: str, author: str
) -> None:
    answers = {
        "project_name": name,
        "description": description,
        "author_name": author,
        "author_email": EMAIL,
    }
    project = render(answers)  # type: ignore[operator]
    assert_files_load(project)
    assert_answers_read_back(project, FIXED["package_name"], answers)


# ---------------------------------------------------------------------------
# The nasty answers, installed: what the running code and the package metadata hold
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def nasty_project(projects: ProjectCache) -> Project:
    return projects.get(**NASTY_ANSWERS, **ALL_OPTIONS)


def test_nasty_answers_are_read_back_from_the_project(nasty_project: Project) -> None:
    assert nasty_project.package == NASTY_ANSWERS["package_name"]
    # Its Python is 3.13 syntax, which ruff and mypy parse in test_generated_project.py.
    assert_files_load(nasty_project.path, python=False)
    assert_answers_read_back(nasty_project.path, nasty_project.package, dict(NASTY_ANSWERS))


def test_nasty_answers_reach_the_app_and_the_metadata_unchanged(nasty_project: Project) -> None:
    """The installed package: the app's title, and the distribution's metadata (written by
    the build backend from pyproject.toml), hold the answers as given."""
    script = (
        "import json, importlib.metadata as m\n"
        f"from {nasty_project.package}.app import create_app\n"
        f"meta = m.metadata({NASTY_ANSWERS['project_slug']!r})\n"
        "print(json.dumps({'title': create_app().title, 'summary': meta['Summary'],"
        " 'author': meta['Author-email']}))\n"
    )
    # A development environment: the app refuses to start with the public development key.
    result = nasty_project.uv_run("python", "-c", script, env={"ENVIRONMENT": "development"})
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values["title"] == NASTY_ANSWERS["project_name"]
    assert values["summary"] == NASTY_ANSWERS["description"]
    assert NASTY_ANSWERS["author_name"] in values["author"]
    assert not PWNED.exists(), f"an answer ran a shell command: {PWNED} was created"

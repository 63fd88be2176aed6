"""The layout sections of the generated README.md and CLAUDE.md match the generated tree.

Both list the tree in a code block, two spaces of indent per level:

    src/my_service/
      app.py           what it holds
      core/            shared infrastructure
        database.py    ...
      users/           users: router, schemas, models, ...; passwords.py

A line further indented than one level below the entry above it continues that entry's
description. Under `src/<package>/` and `tests/` every module and package must be listed
(in tests/, the modules that are not test modules: conftest.py, fixtures/, the *_support
helpers; test packages such as tests/items/ may be left out). A package listed without
entries of its own is summarised: its description must then name each of its modules.
Everything listed must exist.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import pytest
from support import generate

DOCUMENTS = {"README.md": "## Project layout", "CLAUDE.md": "## Layout"}
ENTRY = re.compile(
    r"(?P<indent> *)(?P<name>[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)*/?)(?: {2,}(?P<text>.*))?"
)

ANSWER_SETS = [
    pytest.param({}, id="defaults"),
    pytest.param(
        {"database": "postgresql", "worker": "true", "cache": "true", "observability": "true"},
        id="all-options",
    ),
    pytest.param({"auth": "false"}, id="noauth"),
    pytest.param({"auth": "false", "cache": "true"}, id="noauth-cache"),
    pytest.param({"worker": "true"}, id="worker"),
]


@dataclass
class Entry:
    """A file or directory a layout lists."""

    path: PurePosixPath
    is_dir: bool
    text: str
    children: list[Entry] = field(default_factory=list)


def layout_block(document: str, heading: str) -> list[str]:
    """The lines of the first code block after `heading`."""
    after = document.split(f"\n{heading}\n", 1)
    assert len(after) == 2, f"no {heading!r} section"
    match = re.search(r"^```[^\n]*\n(.*?)^```", after[1], re.MULTILINE | re.DOTALL)
    assert match, f"no code block after {heading!r}"
    return match[1].splitlines()


def parse_layout(lines: list[str]) -> list[Entry]:
    """The top-level entries of a layout, each with the entries indented under it."""
    roots: list[Entry] = []
    stack: list[tuple[int, Entry]] = []  # (depth, entry) of the open directories
    last: Entry | None = None
    for line in lines:
        if not line.strip():
            continue
        match = ENTRY.fullmatch(line.rstrip())
        indent = len(line) - len(line.lstrip())
        depth_limit = (stack[-1][0] + 1) if stack else 0
        is_entry = (
            match is not None
            and indent % 2 == 0
            and indent // 2 <= depth_limit
            and (match["name"].endswith("/") or "." in match["name"])
        )
        if not is_entry:
            assert last is not None, f"layout starts with a continuation line: {line!r}"
            last.text += " " + line.strip()
            continue
        assert match is not None
        depth = indent // 2
        while stack and stack[-1][0] >= depth:
            stack.pop()
        name = match["name"]
        parent = stack[-1][1] if stack else None
        path = (parent.path if parent else PurePosixPath()) / name.rstrip("/")
        entry = Entry(path, name.endswith("/"), match["text"] or "")
        (parent.children if parent else roots).append(entry)
        if entry.is_dir:
            stack.append((depth, entry))
        last = entry
    return roots


def walk(entries: list[Entry]) -> list[Entry]:
    """Every entry, depth first."""
    return [found for entry in entries for found in (entry, *walk(entry.children))]


def _is_package(path: Path) -> bool:
    return path.is_dir() and (path / "__init__.py").is_file()


def required(directory: Path, *, tests: bool) -> list[Path]:
    """The modules and packages of `directory` that a layout must list.

    In tests/, test modules are left out, and so are packages that hold only tests.
    """
    found = []
    for path in sorted(directory.iterdir()):
        if path.is_file() and path.suffix == ".py" and path.name != "__init__.py":
            if not (tests and path.name.startswith("test_")):
                found.append(path)
        elif _is_package(path) and (not tests or required(path, tests=True)):
            found.append(path)
    return found


def _named(text: str, path: Path) -> bool:
    return re.search(rf"(?<![\w.]){re.escape(path.stem)}(\.py)?(?![\w])", text) is not None


def layout_problems(project: Path, roots: list[Entry]) -> list[str]:
    """What the layout lists that the project lacks, and what it has that is not listed."""
    problems = []
    for entry in walk(roots):
        path = project / entry.path
        if not (path.is_dir() if entry.is_dir else path.is_file()):
            problems.append(f"listed, not in the project: {entry.path}{'/' * entry.is_dir}")
    package_roots = [e for e in roots if e.path.parent == PurePosixPath("src") and e.is_dir]
    test_roots = [e for e in roots if e.path == PurePosixPath("tests")]
    assert package_roots, "the layout does not list src/<package>/"
    assert test_roots, "the layout does not list tests/"
    for root, tests in [(package_roots[0], False), (test_roots[0], True)]:
        problems += _unlisted(project, root, tests=tests, is_root=True)
    return problems


def _unlisted(project: Path, entry: Entry, *, tests: bool, is_root: bool = False) -> list[str]:
    directory = project / entry.path
    if not directory.is_dir():
        return []
    modules = required(directory, tests=tests)
    if not entry.children and not is_root:
        return [
            f"not named in the summary of {entry.path}/: {path.relative_to(project)}"
            for path in modules
            if not _named(entry.text, path)
        ]
    listed = {child.path.name: child for child in entry.children}
    problems = [
        f"not listed: {path.relative_to(project)}{'/' * path.is_dir()}"
        for path in modules
        if path.name not in listed
    ]
    for child in entry.children:
        if child.is_dir:
            problems += _unlisted(project, child, tests=tests)
    return problems


@pytest.fixture(params=ANSWER_SETS, scope="module")
def answered_project(
    request: pytest.FixtureRequest, template: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[dict[str, str], Path]:
    project = generate(template, tmp_path_factory.mktemp("layout") / "svc", request.param)
    return request.param, project


@pytest.mark.parametrize("document", list(DOCUMENTS))
def test_layout_lists_the_generated_tree(
    answered_project: tuple[dict[str, str], Path], document: str
) -> None:
    answers, project = answered_project
    lines = layout_block((project / document).read_text(), DOCUMENTS[document])
    problems = layout_problems(project, parse_layout(lines))
    assert not problems, (
        f"the layout in the generated {document} (answers {answers or 'defaults'}) differs "
        f"from the tree; template/{document}.jinja keeps it:\n  " + "\n  ".join(problems)
    )


def test_the_layout_parser_reads_entries_continuations_and_summaries() -> None:
    lines = [
        "src/pkg/",
        "  app.py           the factory",
        "                   and its lifespan",
        "  users/           users: router, service; passwords.py",
        "tests/             tests",
        "  conftest.py      fixtures",
    ]
    roots = parse_layout(lines)
    assert [str(e.path) for e in walk(roots)] == [
        "src/pkg",
        "src/pkg/app.py",
        "src/pkg/users",
        "tests",
        "tests/conftest.py",
    ]
    app = roots[0].children[0]
    assert app.text == "the factory and its lifespan"
    users = roots[0].children[1]
    assert _named(users.text, Path("passwords.py"))
    assert _named(users.text, Path("router.py"))
    assert not _named(users.text, Path("schemas.py"))

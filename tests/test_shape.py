"""The shape of the Python templates: an option adds lines, never variants.

Fast checks on template/'s sources (nothing is generated), over every Jinja template that
renders to a Python module, option-gated names such as
`{% if cache %}cache.py{% endif %}.jinja` included:

- a budget of control tags (`{%`): at most 6 per 100 lines over all of them, at most 25 in
  any one;
- one head per function: no function (by its qualified name, `Class.method`, `outer.inner`)
  is defined twice in one template, and none inside an `{% else %}` or `{% elif %}` branch
  (an option wraps whole blocks in `{% if %}`, it does not rewrite a function).

`python tests/test_shape.py` prints the numbers, file by file.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from support import ROOT
from template_tree import python_templates

TAGS_PER_100_LINES = 6.0
TAGS_PER_FILE = 25

TAG = re.compile(r"\{%[-+]?\s*(?P<keyword>\w+)(?P<body>.*?)[-+]?%\}", re.DOTALL)
COMMENT = re.compile(r"\{#.*?#\}", re.DOTALL)
DEF = re.compile(r"(?P<indent>[ \t]*)(?:async[ \t]+)?def[ \t]+(?P<name>\w+)")
CLASS = re.compile(r"(?P<indent>[ \t]*)class[ \t]+(?P<name>\w+)")
DECORATOR = re.compile(r"[ \t]*@(?P<name>[\w.]+)")
# Decorators under which a second definition of a name is Python's own idiom.
REDEFINING = re.compile(r"(typing\.)?overload|\w+\.(setter|deleter)")
BLOCKS = {"if", "for", "macro", "call", "filter", "with", "block", "autoescape", "trans"}


@dataclass
class Definition:
    """A `def` in a template's source."""

    qualname: str
    line: int
    in_other_branch: bool
    """Inside an `{% else %}` or `{% elif %}` branch (of any enclosing `{% if %}`)."""


@dataclass
class Shape:
    """What the checks measure in one template."""

    path: str
    lines: int
    tags: int
    definitions: list[Definition] = field(default_factory=list)

    @property
    def tags_per_100_lines(self) -> float:
        return 100 * self.tags / max(self.lines, 1)


def _blank(match: re.Match[str]) -> str:
    """The matched text with everything but its line breaks turned into spaces."""
    return re.sub(r"[^\n]", " ", match[0])


def measure(path: Path, name: str) -> Shape:
    """Count the control tags of one template and find its function definitions."""
    text = path.read_text()
    shape = Shape(name, len(text.splitlines()), text.count("{%"))
    source = COMMENT.sub(_blank, text)
    stack: list[list[object]] = []  # Jinja's open blocks: [keyword, in an else/elif branch]
    raw = False  # inside {% raw %}: what it holds is not Jinja
    scopes: list[tuple[int, str]] = []  # (indent, name) of the enclosing classes and defs
    decorators: list[str] = []
    for number, line in enumerate(source.splitlines(), 1):
        tags = list(TAG.finditer(line))
        python = TAG.sub("", line)
        found = DEF.match(python) or CLASS.match(python)
        # The tags before the code on this line open or switch branches before it.
        code_at = _code_start(line, tags) if found else len(line)
        for tag in tags:
            if tag.start() < code_at:
                raw = _apply(tag, stack, raw)
        if found and not raw:
            indent = len(found["indent"].expandtabs())
            while scopes and scopes[-1][0] >= indent:
                scopes.pop()
            qualname = ".".join([*(name for _, name in scopes), found["name"]])
            redefines = any(REDEFINING.fullmatch(name) for name in decorators)
            if found.re is DEF and not redefines:
                in_other_branch = any(branch for _, branch in stack)
                shape.definitions.append(Definition(qualname, number, in_other_branch))
            scopes.append((indent, found["name"]))
        for tag in tags:
            if tag.start() >= code_at:
                raw = _apply(tag, stack, raw)
        if decorator := DECORATOR.match(python):
            decorators.append(decorator["name"])
        elif python.strip():
            decorators = []
    return shape


def _code_start(line: str, tags: list[re.Match[str]]) -> int:
    """Where the first character of code, outside tags and whitespace, is on the line."""
    position = 0
    for tag in tags:
        if line[position : tag.start()].strip():
            break
        position = tag.end()
    return position + len(line[position:]) - len(line[position:].lstrip())


def _apply(tag: re.Match[str], stack: list[list[object]], raw: bool) -> bool:
    """Update Jinja's open blocks for one tag; return whether a `raw` block is open."""
    keyword = tag["keyword"]
    if raw:
        return keyword != "endraw"
    if keyword == "raw":
        return True
    if keyword in BLOCKS or (keyword == "set" and "=" not in tag["body"]):
        stack.append([keyword, False])
    elif keyword in {"elif", "else"} and stack:
        stack[-1][1] = True
    elif keyword.startswith("end") and stack:
        stack.pop()
    return False


def shapes(root: Path = ROOT) -> list[Shape]:
    """The measures of every Python template under `root`/template."""
    return [
        measure(root / "template" / path.source, str(path.source))
        for path in python_templates(root)
    ]


def table(measured: list[Shape]) -> str:
    """The numbers, the most tags first, and the total."""
    rows = [f"{'tags':>5} {'lines':>6} {'/100':>6}  template"]
    for shape in sorted(measured, key=lambda s: (-s.tags, s.path)):
        rows.append(
            f"{shape.tags:5d} {shape.lines:6d} {shape.tags_per_100_lines:6.1f}  {shape.path}"
        )
    tags = sum(s.tags for s in measured)
    lines = sum(s.lines for s in measured)
    rows.append(f"{tags:5d} {lines:6d} {100 * tags / max(lines, 1):6.1f}  all {len(measured)}")
    return "\n".join(rows)


@pytest.fixture(scope="module")
def measured() -> list[Shape]:
    found = shapes()
    assert len(found) > 20, f"suspiciously few Python templates: {[s.path for s in found]}"
    print("\n" + table(found))
    return found


def test_control_tags_stay_within_budget_overall(measured: list[Shape]) -> None:
    tags = sum(s.tags for s in measured)
    lines = sum(s.lines for s in measured)
    rate = 100 * tags / lines
    assert rate <= TAGS_PER_100_LINES, (
        f"{tags} control tags in {lines} lines of Python templates: {rate:.2f} per 100 lines, "
        f"more than {TAGS_PER_100_LINES:g}; the templates, most tags first:\n{table(measured)}"
    )


def test_control_tags_stay_within_budget_in_each_template(measured: list[Shape]) -> None:
    over = sorted((s for s in measured if s.tags > TAGS_PER_FILE), key=lambda s: -s.tags)
    assert not over, f"templates with more than {TAGS_PER_FILE} control tags:\n" + "\n".join(
        f"  {s.tags:4d} tags in {s.lines} lines  {s.path}" for s in over
    )


def test_no_function_is_defined_twice_in_a_template(measured: list[Shape]) -> None:
    problems = []
    for shape in measured:
        lines: dict[str, list[int]] = {}
        for definition in shape.definitions:
            lines.setdefault(definition.qualname, []).append(definition.line)
        problems += [
            f"  {shape.path}: {name} defined {len(at)} times (lines {', '.join(map(str, at))})"
            for name, at in lines.items()
            if len(at) > 1
        ]
    assert not problems, (
        "function heads written more than once (write the head once, with one "
        "`{%- if %}` around each optional parameter):\n" + "\n".join(problems)
    )


def test_no_function_is_defined_in_an_else_branch(measured: list[Shape]) -> None:
    problems = [
        f"  {shape.path}:{definition.line}: {definition.qualname}"
        for shape in measured
        for definition in shape.definitions
        if definition.in_other_branch
    ]
    assert not problems, (
        "functions defined in an `{% else %}` or `{% elif %}` branch (an option wraps whole "
        "blocks in `{% if %}`; it does not rewrite a function):\n" + "\n".join(problems)
    )


if __name__ == "__main__":
    sys.exit(print(table(shapes())))

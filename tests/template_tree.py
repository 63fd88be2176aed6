"""The template's tree read as copier reads it: which files each set of answers generates.

A path segment is gated by an option when it is written `{% if <expr> %}name{% endif %}`
(plus, optionally, a suffix such as `.jinja`): the segment, and everything under it, is
generated only when `<expr>` is true. `{{ variable }}` parts are rendered with the answers.
The template's tests derive each option's files from these paths instead of keeping lists.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import jinja2
import yaml

TEMPLATE_SUFFIX = ".jinja"
GATE = re.compile(
    r"\{%-?\s*if\s+(?P<expr>.+?)\s*-?%\}(?P<name>.*?)\{%-?\s*endif\s*-?%\}(?P<rest>.*)"
)
ANSWERS_FILE = ".copier-answers.yml"
SKIPPED = {"__pycache__", ".DS_Store", ".pytest_cache", ".mypy_cache", ".ruff_cache"}
"""Names copier excludes by default or that tools may leave in a checkout."""

_JINJA = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)


@dataclass(frozen=True)
class TemplatePath:
    """One file of template/: where it is, and the options its path depends on."""

    source: PurePosixPath
    """Relative to template/, as written (`src/{{package_name}}/{% if auth %}auth{% endif %}/…`)."""
    gates: tuple[str, ...]
    """The `{% if %}` expressions of its segments, outermost first; empty when always there."""

    @property
    def is_jinja(self) -> bool:
        """Copier renders its content (the name ends in the templates suffix)."""
        return self.source.name.endswith(TEMPLATE_SUFFIX)

    @property
    def bare_name(self) -> str:
        """The file's name without gates or the templates suffix (`cache.py`)."""
        name = _ungated(self.source.name)
        return name.removesuffix(TEMPLATE_SUFFIX) if self.is_jinja else name

    @property
    def is_python_template(self) -> bool:
        """A Jinja template that renders to a Python module."""
        return self.is_jinja and self.bare_name.endswith(".py")

    def rendered(self, answers: Mapping[str, object]) -> PurePosixPath | None:
        """Its path in a project generated with `answers`, or None if those leave it out."""
        context = _context(answers)
        parts = []
        for segment in self.source.parts:
            match = GATE.fullmatch(segment)
            if match:
                if not _JINJA.compile_expression(match["expr"])(**context):
                    return None
                segment = match["name"] + match["rest"]
            part = _JINJA.from_string(segment).render(context)
            if not part:
                return None
            parts.append(part)
        path = PurePosixPath(*parts)
        return path.with_name(path.name.removesuffix(TEMPLATE_SUFFIX)) if self.is_jinja else path


def _ungated(segment: str) -> str:
    match = GATE.fullmatch(segment)
    return match["name"] + match["rest"] if match else segment


def _check_segment(source: PurePosixPath, segment: str) -> None:
    rest = _ungated(segment)
    if "{%" in rest or "{#" in rest:
        raise ValueError(
            f"{source}: segment {segment!r} uses Jinja other than one "
            "`{% if <expr> %}name{% endif %}` gate and `{{ variable }}`"
        )


@functools.cache
def template_paths(root: Path) -> tuple[TemplatePath, ...]:
    """Every file under `root`/template, with the gates of its path."""
    template = root / "template"
    found = []
    for path in sorted(template.rglob("*")):
        relative = PurePosixPath(path.relative_to(template).as_posix())
        if not path.is_file() or SKIPPED.intersection(relative.parts):
            continue
        if path.suffix in {".pyc", ".pyo"}:
            continue
        for segment in relative.parts:
            _check_segment(relative, segment)
        gates = tuple(m["expr"] for part in relative.parts if (m := GATE.fullmatch(part)))
        found.append(TemplatePath(relative, gates))
    return tuple(found)


@functools.cache
def _questions(root: Path) -> dict[str, dict[str, object]]:
    config = yaml.safe_load((root / "copier.yml").read_text())
    return {
        name: spec
        for name, spec in config.items()
        if not name.startswith("_") and isinstance(spec, dict)
    }


def typed_answers(root: Path, answers: Mapping[str, object] | None = None) -> dict[str, object]:
    """`answers` (as `-d` data: strings) over the defaults, each of its question's type.

    Only the answers path names use matter: the options, and `package_name` (the default
    project's, `my_service`, unless given).
    """
    typed: dict[str, object] = {"package_name": "my_service"}
    for name, spec in _questions(root).items():
        if "default" in spec and "{{" not in str(spec["default"]):
            typed[name] = spec["default"]
    for name, value in (answers or {}).items():
        kind = _questions(root).get(name, {}).get("type")
        if kind == "bool" and isinstance(value, str):
            value = {"true": True, "false": False}[value.lower()]
        typed[name] = value
    return typed


def _context(answers: Mapping[str, object]) -> dict[str, object]:
    return {**answers, "_copier_conf": {"answers_file": ANSWERS_FILE}}


def generated_files(root: Path, answers: Mapping[str, object] | None = None) -> set[PurePosixPath]:
    """The files a project generated with `answers` (`-d` data) has, per the template's paths."""
    typed = typed_answers(root, answers)
    return {
        rendered for path in template_paths(root) if (rendered := path.rendered(typed)) is not None
    }


def files_brought_by(
    root: Path, answers: Mapping[str, object], base: Mapping[str, object] | None = None
) -> set[PurePosixPath]:
    """The files that `answers` add to a project generated with `base` (default: defaults)."""
    base = dict(base or {})
    return generated_files(root, {**base, **answers}) - generated_files(root, base)


def python_templates(root: Path) -> list[TemplatePath]:
    """The Jinja templates that render to Python modules, option-gated names included."""
    return [path for path in template_paths(root) if path.is_python_template]

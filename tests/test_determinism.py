"""Generation is deterministic: the same answers give the same tree, byte for byte.

Each generation runs `generate()` in a fresh interpreter with its own string-hash seed,
so that nothing which depends on the process (set or dict order from hashing, the time,
random values) can differ between two users' projects, or between a project and the
template's own rendering of it during `copier update`.
"""

from __future__ import annotations

import difflib
import json
import os
import stat
import sys
from pathlib import Path

import pytest
from support import ROOT, run

ANSWERS = [
    pytest.param({}, id="defaults"),
    pytest.param({"database": "postgresql"}, id="postgresql"),
    pytest.param({"auth": "false"}, id="noauth"),
]

# Calls the tests' generate(template, dst, answers), from the installed template_harness.
GENERATE = """
import json, sys
from pathlib import Path
from template_harness.template import generate
generate(Path(sys.argv[1]), Path(sys.argv[2]), json.loads(sys.argv[3]))
"""


def generate_fresh(template: Path, dst: Path, answers: dict[str, str], hash_seed: int) -> Path:
    """`generate()` in a new interpreter whose PYTHONHASHSEED is `hash_seed`."""
    run(
        [sys.executable, "-c", GENERATE, template, dst, json.dumps(answers)],
        cwd=ROOT,
        env={"PYTHONHASHSEED": str(hash_seed)},
        timeout=300,
    )
    return dst


def tree(root: Path) -> dict[str, tuple[str, int, bytes]]:
    """Every entry under `root`, by relative path: its kind, permission bits and content
    (a file's bytes, a symlink's target; nothing for a directory)."""
    entries: dict[str, tuple[str, int, bytes]] = {}
    for directory, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(directory, name)
            info = path.lstat()
            mode = stat.S_IMODE(info.st_mode)
            if stat.S_ISLNK(info.st_mode):
                entry = ("symlink", mode, os.readlink(path).encode())
            elif stat.S_ISDIR(info.st_mode):
                entry = ("directory", mode, b"")
            else:
                entry = ("file", mode, path.read_bytes())
            entries[path.relative_to(root).as_posix()] = entry
    return entries


def describe_differences(
    first: dict[str, tuple[str, int, bytes]], second: dict[str, tuple[str, int, bytes]]
) -> str:
    lines = [f"only in the first: {name}" for name in sorted(first.keys() - second.keys())]
    lines += [f"only in the second: {name}" for name in sorted(second.keys() - first.keys())]
    for name in sorted(first.keys() & second.keys()):
        (kind_a, mode_a, data_a), (kind_b, mode_b, data_b) = first[name], second[name]
        if (kind_a, mode_a) != (kind_b, mode_b):
            lines.append(f"{name}: {kind_a} {mode_a:o} != {kind_b} {mode_b:o}")
        if data_a != data_b:
            diff = difflib.unified_diff(
                data_a.decode(errors="replace").splitlines(),
                data_b.decode(errors="replace").splitlines(),
                f"first/{name}",
                f"second/{name}",
                lineterm="",
            )
            lines.append("\n".join(list(diff)[:40]) or f"{name}: contents differ")
    return "\n".join(lines)


@pytest.mark.parametrize("answers", ANSWERS)
def test_generating_twice_gives_identical_trees(
    template: Path, tmp_path: Path, answers: dict[str, str]
) -> None:
    first = tree(generate_fresh(template, tmp_path / "first" / "project", answers, hash_seed=1))
    second = tree(generate_fresh(template, tmp_path / "second" / "project", answers, hash_seed=2))

    assert any(name.endswith("pyproject.toml") for name in first), sorted(first)
    assert first == second, describe_differences(first, second)

"""The template repository: its root, a copy of its working tree, rendering a project."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

import copier

ROOT = Path(__file__).resolve().parent.parent
"""The template repository (this package is installed editable from it)."""

_IGNORED = shutil.ignore_patterns(
    ".git", ".venv", "__pycache__", "*.pyc", ".pytest_cache", ".mypy_cache", ".ruff_cache"
)


def working_tree_files(root: Path = ROOT) -> list[Path] | None:
    """Files git would commit with `git add -A` (tracked + untracked, not ignored), or
    None outside a git checkout."""
    git = shutil.which("git")
    if git is None or not (root / ".git").exists():
        return None
    result = subprocess.run(
        [git, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=root,
        capture_output=True,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    if result.returncode != 0:
        return None
    names = {name for name in result.stdout.decode().split("\0") if name}
    return [root / name for name in sorted(names) if (root / name).is_file()]


def snapshot_template(dst: Path, root: Path = ROOT) -> Path:
    """Copy the template's working tree (committed or not) to `dst`, outside git.

    Copier on a git template renders the latest tag, or HEAD plus dirty changes only
    with `vcs_ref="HEAD"`; a plain copy renders exactly what is on disk, the same way
    whatever the state of the repository (even with no commit yet).
    """
    files = working_tree_files(root)
    if files is None:
        shutil.copytree(root, dst, ignore=_IGNORED, symlinks=True)
        return dst
    for source in files:
        target = dst / source.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target, follow_symlinks=False)
    if not (dst / "copier.yml").is_file():
        raise FileNotFoundError(f"copier.yml missing from the snapshot in {dst}")
    return dst


def generate(template: Path, dst: Path, answers: Mapping[str, str] | None = None) -> Path:
    """Render the template into `dst` with copier's API, as `copier copy --defaults`
    would, with `answers` given as `-d` data; never trusted (`unsafe=False`)."""
    copier.run_copy(
        src_path=str(template),
        dst_path=str(dst),
        data=dict(answers or {}),
        defaults=True,
        unsafe=False,
        quiet=True,
    )
    return dst

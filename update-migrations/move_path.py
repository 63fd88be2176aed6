"""Copier update migration: move generated files to where a newer template keeps them.

    python move_path.py --template TEMPLATE OLD NEW [OLD NEW ...]

OLD and NEW are paths in the project, formatted with its answers (`{package_name}`);
TEMPLATE is the template's root (`{{ _copier_conf.src_path }}`). `_migrations` in
copier.yml runs it at both stages of a `copier update` that crosses the release, in the
project's root, and Copier says which stage in $STAGE:

- before: for each OLD the project has and the new template has a NEW for (a file of an
  option the project does not have is absent: nothing to move), the project's copy is
  compared with what the previous release ($VERSION_FROM) generated. Unedited, it is
  removed, and the update writes NEW as the new release has it. Edited, it is set aside
  (with the previous release's version, the merge base) and removed.
- after: each copy set aside is merged into the NEW the update wrote (`git merge-file`,
  a three-way merge): your edits land in the new file, and where they touch lines the
  release changed too, the file gets Copier's inline conflict markers (`<<<<<<< before
  updating`). Where the update wrote no NEW, the copy goes back to OLD as it was.

Without this, Copier would see the moved file as new on both sides and mark every line
the release changed as a conflict, edited or not. NEW is where the newest release keeps
the file: when a release moves a file again, the earlier entries are edited to point
there too. Idempotent: an OLD that is
gone or a NEW that exists already is left as it is. Run by hand (no $STAGE), it simply
moves the files (`git mv`). Uses the standard library, the `yaml` module and, to render
the previous release, Copier itself: `{{ _copier_python }}` is the interpreter Copier
runs on, so both are there.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ANSWERS_FILE = Path(".copier-answers.yml")
MERGE_LABELS = ("before updating", "last update", "after updating")
"""The labels Copier's own inline conflicts carry: ours, base, theirs."""


def git(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run git in the project and return its output."""
    return subprocess.run(["git", *args], capture_output=True, text=True, check=check)


def is_tracked(path: Path) -> bool:
    """Whether git tracks `path`."""
    return git("ls-files", "--error-unmatch", "--", str(path), check=False).returncode == 0


def remove(path: Path) -> None:
    """Delete `path` from the working tree and, if tracked, from the index."""
    if is_tracked(path):
        git("rm", "-q", "-f", "--", str(path))
    else:
        path.unlink()


def load_answers() -> dict[str, object]:
    """The project's recorded answers (the answers file as the update found it)."""
    answers = yaml.safe_load(ANSWERS_FILE.read_text(encoding="utf-8"))
    if not isinstance(answers, dict):
        sys.exit(f"migration: {ANSWERS_FILE} is not a mapping")
    return answers


def pairs_of(paths: list[str], answers: dict[str, object]) -> list[tuple[Path, Path]]:
    """The (OLD, NEW) pairs of the command line, formatted with the answers."""
    if not paths or len(paths) % 2:
        sys.exit(__doc__)
    formatted = [Path(path.format(**answers)) for path in paths]
    return list(zip(formatted[::2], formatted[1::2], strict=True))


# ---------------------------------------------------------------------------
# What the new template generates, what the previous release generated
# ---------------------------------------------------------------------------

_JINJA_VARIABLE = re.compile(r"{{\s*(\w+)\s*}}")
_JINJA_TAG = re.compile(r"{%.*?%}")


def template_paths(template: Path, answers: dict[str, object]) -> set[Path]:
    """The project paths the template's files can render to, whatever the options:
    variables filled in from the answers, conditional name parts kept, suffix dropped."""
    config = yaml.safe_load((template / "copier.yml").read_text(encoding="utf-8")) or {}
    root = template / str(config.get("_subdirectory", ""))
    suffix = str(config.get("_templates_suffix", ".jinja"))
    paths = set()
    for source in root.rglob("*"):
        if not source.is_file():
            continue
        name = source.relative_to(root).as_posix()
        name = _JINJA_VARIABLE.sub(lambda match: str(answers.get(match[1], match[0])), name)
        name = _JINJA_TAG.sub("", name)
        if suffix and name.endswith(suffix):
            name = name[: -len(suffix)]
        paths.add(Path(name))
    return paths


def render_release(template: Path, ref: str, answers: dict[str, object], dst: Path) -> None:
    """Generate the release `ref` of the template into `dst` with the project's answers."""
    import copier  # only the before stage of an update renders (and needs it)

    copier.run_copy(
        src_path=str(template),
        dst_path=str(dst),
        vcs_ref=ref,
        data={key: value for key, value in answers.items() if not key.startswith("_")},
        defaults=True,
        overwrite=True,
        quiet=True,
        unsafe=False,
    )


# ---------------------------------------------------------------------------
# The copies set aside between the stages
# ---------------------------------------------------------------------------


class Pending:
    """Edited copies set aside by the before stage of this update, for the after stage.

    They live in the project's git directory, outside the work tree that Copier diffs,
    under a manifest that names the Copier process: one left by an update that failed
    is discarded by the next.
    """

    def __init__(self) -> None:
        self.directory = Path(git("rev-parse", "--git-path", "copier-moves").stdout.strip())
        self.manifest = self.directory / "manifest.json"
        self.run = str(os.getppid())
        data = {}
        if self.manifest.is_file():
            data = json.loads(self.manifest.read_text(encoding="utf-8"))
        if data.get("run") != self.run:
            data = {"run": self.run, "moves": []}
        self.moves: list[dict[str, str]] = data["moves"]

    def save(self) -> None:
        """Write the manifest, or remove the directory once nothing is pending."""
        if self.moves:
            self.directory.mkdir(parents=True, exist_ok=True)
            self.manifest.write_text(
                json.dumps({"run": self.run, "moves": self.moves}, indent=2), encoding="utf-8"
            )
        else:
            shutil.rmtree(self.directory, ignore_errors=True)

    def add(self, old: Path, new: Path, base: bytes | None) -> None:
        """Set the project's `old` aside, bound for `new`, with its merge base."""
        self.directory.mkdir(parents=True, exist_ok=True)
        key = str(len(self.moves))
        shutil.copy2(old, self.directory / f"{key}.ours")
        if base is not None:
            (self.directory / f"{key}.base").write_bytes(base)
        self.moves.append({"key": key, "old": old.as_posix(), "new": new.as_posix()})

    def files(self, move: dict[str, str]) -> tuple[Path, Path]:
        """The copy set aside and its merge base (an empty file when there is none)."""
        ours = self.directory / f"{move['key']}.ours"
        base = self.directory / f"{move['key']}.base"
        if not base.exists():
            base.touch()
        return ours, base


# ---------------------------------------------------------------------------
# Stages
# ---------------------------------------------------------------------------


def before(pairs: list[tuple[Path, Path]], template: Path, answers: dict[str, object]) -> None:
    """Remove each OLD the update replaces with a NEW; set the edited ones aside."""
    pending = Pending()
    generated = template_paths(template, answers)
    previous: Path | None = None
    with tempfile.TemporaryDirectory(prefix="copier-move-") as scratch:
        for old, new in pairs:
            if new not in generated:
                print(f"migration: the template has no {new}, leaving {old} as it is")
            elif not old.exists():
                print(f"migration: {old} is not here, nothing to move")
            elif new.exists():
                print(f"migration: {new} already exists, leaving {old} as it is")
            else:
                if previous is None:
                    previous = Path(scratch) / "previous"
                    render_release(template, os.environ["VERSION_FROM"], answers, previous)
                base_file = previous / old
                base = base_file.read_bytes() if base_file.is_file() else None
                if old.read_bytes() == base:
                    print(f"migration: {old} is as the template made it, {new} replaces it")
                else:
                    pending.add(old, new, base)
                    print(f"migration: {old} has your edits, they go to {new}")
                remove(old)
    pending.save()


def mark_conflicted(path: Path, ours: Path, base: Path) -> None:
    """Record `path` (still the release's version) as unmerged in the index, the way
    Copier records its own conflicts: `git status` shows it as both modified."""
    top_relative = git("rev-parse", "--show-prefix").stdout.strip() + path.as_posix()
    mode = "100755" if os.access(path, os.X_OK) else "100644"
    entries = [f"0 {'0' * 40}\t{top_relative}\n"]
    for stage, version in ((1, base), (2, ours), (3, path)):
        sha = git("hash-object", "-w", "--", str(version)).stdout.strip()
        entries.append(f"{mode} {sha} {stage}\t{top_relative}\n")
    subprocess.run(
        ["git", "update-index", "--index-info"],
        input="".join(entries),
        text=True,
        cwd=git("rev-parse", "--show-toplevel").stdout.strip(),
        check=True,
    )


def after() -> None:
    """Merge each copy set aside into the NEW the update wrote (or put it back)."""
    pending = Pending()
    for move in pending.moves:
        old, new = Path(move["old"]), Path(move["new"])
        ours, base = pending.files(move)
        if not new.is_file():
            old.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ours, old)
            print(f"migration: the update wrote no {new}, {old} is back as it was")
            continue
        labels = [arg for label in MERGE_LABELS for arg in ("-L", label)]
        merged = subprocess.run(
            ["git", "merge-file", "-p", *labels, str(ours), str(base), str(new)],
            capture_output=True,
            check=False,
        )
        if merged.returncode < 0 or merged.returncode > 127:
            sys.exit(f"migration: merging {old} into {new} failed: {merged.stderr.decode()}")
        if merged.returncode:
            mark_conflicted(new, ours=ours, base=base)
        new.write_bytes(merged.stdout)
        if merged.returncode:
            print(f"migration: moved {old} to {new}, {merged.returncode} conflict(s) to resolve")
        else:
            print(f"migration: moved {old} to {new}, your edits merged")
    pending.moves.clear()
    pending.save()


def move_now(pairs: list[tuple[Path, Path]]) -> None:
    """Outside an update: move each OLD there is to its NEW, as it is."""
    for old, new in pairs:
        if not old.exists():
            print(f"migration: {old} is not here, nothing to move")
        elif new.exists():
            print(f"migration: {new} already exists, leaving {old} as it is")
        else:
            new.parent.mkdir(parents=True, exist_ok=True)
            if is_tracked(old):
                git("mv", "--", str(old), str(new))
            else:
                old.rename(new)
            print(f"migration: moved {old} to {new}")


def main(argv: list[str]) -> int:
    """Run the stage Copier names in $STAGE (or move the files at once)."""
    parser = argparse.ArgumentParser(usage=__doc__)
    parser.add_argument("--template", type=Path, help="the template's root")
    parser.add_argument("paths", nargs="*", metavar="OLD NEW")
    args = parser.parse_args(argv)
    stage = os.environ.get("STAGE")
    if stage == "after":
        after()
        return 0
    pairs = pairs_of(args.paths, load_answers())
    if stage == "before":
        if args.template is None:
            sys.exit("migration: --template is needed at the before stage")
        before(pairs, args.template, load_answers())
    else:
        move_now(pairs)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

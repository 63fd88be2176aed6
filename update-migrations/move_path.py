"""Copier update migration: move a generated file to where a newer template keeps it.

    python move_path.py OLD NEW

OLD and NEW are paths in the project, formatted with its answers (`{package_name}`).
Run by `copier update` (see `_migrations` in copier.yml) in the project's root before
the update is applied, so the user's version of the file travels to the new place and
the template's next changes merge into it there. Idempotent: does nothing when OLD is
gone or NEW already exists. Uses only the standard library and the `yaml` module that
Copier itself depends on.
"""

import subprocess
import sys
from pathlib import Path

import yaml

ANSWERS_FILE = Path(".copier-answers.yml")


def main(old_pattern: str, new_pattern: str) -> int:
    answers = yaml.safe_load(ANSWERS_FILE.read_text(encoding="utf-8"))
    old = Path(old_pattern.format(**answers))
    new = Path(new_pattern.format(**answers))
    if not old.exists():
        print(f"migration: {old} is not here, nothing to move")
        return 0
    if new.exists():
        print(f"migration: {new} already exists, leaving {old} as it is")
        return 0
    new.parent.mkdir(parents=True, exist_ok=True)
    tracked = subprocess.run(
        ["git", "ls-files", "--error-unmatch", str(old)], capture_output=True, check=False
    )
    if tracked.returncode == 0:
        subprocess.run(["git", "mv", str(old), str(new)], check=True)
    else:
        old.rename(new)
    print(f"migration: moved {old} to {new}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2]))

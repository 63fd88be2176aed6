"""`copier update` from an older release to a newer one keeps the user's work.

A temporary git repository holds two releases of the template:

- v0.1.0: the template as it was at that release: the request-context module was still
  called `middleware.py` (the real v0.2.0 migration in copier.yml moves it);
- v0.2.0: the template as it is now, plus representative changes a release makes: a
  modified file, a new file and a new question with a default.

A project generated from v0.1.0 gets user edits, then `copier update` takes it to v0.2.0.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from support import ROOT, Project, copier_cli, run, snapshot_template

PACKAGE = "my_service"
SRC = Path("src") / PACKAGE
TEMPLATE_SRC = Path("template") / "src" / "{{package_name}}"

GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Template Tests",
    "GIT_AUTHOR_EMAIL": "tests@example.com",
    "GIT_COMMITTER_NAME": "Template Tests",
    "GIT_COMMITTER_EMAIL": "tests@example.com",
}

# The release change to a template-owned file, and a user edit that collides with it.
HEALTH_DOCSTRING = '"""Liveness (the process answers) and readiness (the database answers too)."""'
HEALTH_DOCSTRING_V2 = '"""Health probes: liveness (the process answers) and readiness (the database too)."""'
HEALTH_DOCSTRING_USER = '"""Probes for our load balancer: liveness and readiness."""'

NEW_QUESTION = """
release_channel:
  type: str
  help: Which channel this service follows
  default: stable
"""

USER_ROUTER = '''"""Orders: a domain the user added."""

from fastapi import APIRouter

router = APIRouter(prefix="/orders", tags=["orders"])


@router.get("")
async def list_orders() -> list[str]:
    return []
'''
USER_SETTINGS_ENV = "LOG_LEVEL=DEBUG\n"


def git(*args: str, cwd: Path) -> str:
    return run(["git", *args], cwd=cwd, env=GIT_IDENTITY).stdout


def commit_all(cwd: Path, message: str) -> None:
    git("add", "-A", cwd=cwd)
    git("commit", "-q", "--no-verify", "-m", message, cwd=cwd)


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not found in {path}"
    path.write_text(text.replace(old, new, 1))


def release_v0_1_0(template: Path) -> None:
    """Undo, in a copy of the current template, what v0.2.0 changed: the module rename."""
    src = template / TEMPLATE_SRC
    (src / "request_context.py").rename(src / "middleware.py")
    replace_in(src / "app.py.jinja", "from .request_context import", "from .middleware import")


def release_v0_2_0(template: Path) -> None:
    """Representative changes of a release, on top of the current template."""
    replace_in(template / TEMPLATE_SRC / "health.py.jinja", HEALTH_DOCSTRING, HEALTH_DOCSTRING_V2)
    (template / TEMPLATE_SRC / "channel.py.jinja").write_text(
        '"""The release channel this service follows."""\n\n'
        'RELEASE_CHANNEL = "{{ release_channel }}"\n'
    )
    with (template / "copier.yml").open("a") as copier_yml:
        copier_yml.write(NEW_QUESTION)


@pytest.fixture(scope="module")
def releases(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git repository of the template with the tags v0.1.0 and v0.2.0."""
    repo = tmp_path_factory.mktemp("releases") / "template"
    snapshot_template(repo)
    release_v0_1_0(repo)
    git("init", "-q", "-b", "main", cwd=repo)
    commit_all(repo, "v0.1.0")
    git("tag", "v0.1.0", cwd=repo)

    for child in repo.iterdir():
        if child.name != ".git":
            shutil.rmtree(child) if child.is_dir() else child.unlink()
    snapshot_template(repo)
    release_v0_2_0(repo)
    commit_all(repo, "v0.2.0")
    git("tag", "v0.2.0", cwd=repo)
    return repo


def generate_committed(releases: Path, dst: Path, version: str) -> Path:
    copier_cli("copy", "--defaults", f"--vcs-ref={version}", releases, dst, cwd=dst.parent)
    git("init", "-q", "-b", "main", cwd=dst)
    commit_all(dst, f"Generate from template {version}")
    return dst


def update(project: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """`copier update` as the README says, answering nothing new."""
    return copier_cli("update", "--defaults", *extra, project, cwd=project)


def conflicted_files(project: Path) -> list[str]:
    marked = [
        str(path.relative_to(project))
        for path in project.rglob("*")
        if path.is_file()
        and ".git" not in path.parts
        and ".venv" not in path.parts
        and "<<<<<<< " in path.read_text(errors="replace")
    ]
    rejected = [str(path.relative_to(project)) for path in project.rglob("*.rej")]
    return marked + rejected


# ---------------------------------------------------------------------------
# The main scenario: user edits away from the template's changes
# ---------------------------------------------------------------------------


@dataclass
class Updated:
    path: Path
    user_files: dict[Path, bytes]
    """Files as the user left them before the update, byte for byte."""
    output: str


@pytest.fixture(scope="module")
def updated(releases: Path, tmp_path_factory: pytest.TempPathFactory) -> Updated:
    project = generate_committed(releases, tmp_path_factory.mktemp("upd") / "proj", "v0.1.0")
    assert (project / SRC / "middleware.py").is_file()

    # A template-owned file, edited where the template does not change it.
    replace_in(
        project / SRC / "app.py",
        '    app.include_router(items_router, prefix="/api/v1")\n',
        '    app.include_router(items_router, prefix="/api/v1")\n'
        '    app.include_router(orders_router, prefix="/api/v1")\n',
    )
    replace_in(
        project / SRC / "app.py",
        "from .logs import configure_logging\n",
        "from .logs import configure_logging\nfrom .orders.router import router as orders_router\n",
    )
    # A new domain module, and a dependency.
    (project / SRC / "orders").mkdir()
    (project / SRC / "orders" / "__init__.py").write_text('"""Orders."""\n')
    (project / SRC / "orders" / "router.py").write_text(USER_ROUTER)
    replace_in(
        project / "pyproject.toml", '    "alembic>=', '    "python-dotenv>=1.0.1",\n    "alembic>='
    )
    commit_all(project, "User work")
    # A file the user keeps out of git (and the template must never touch).
    (project / ".env").write_text(USER_SETTINGS_ENV)

    user_files = {
        path: (project / path).read_bytes()
        for path in (
            SRC / "orders" / "__init__.py",
            SRC / "orders" / "router.py",
            Path(".env"),
        )
    }
    # The update crosses v0.2.0, whose migration runs code: Copier wants --trust.
    result = update(project, "--trust")
    return Updated(path=project, user_files=user_files, output=result.stdout)


def test_update_refuses_to_run_a_migration_without_trust(
    releases: Path, tmp_path: Path
) -> None:
    project = generate_committed(releases, tmp_path / "proj", "v0.1.0")

    result = copier_cli("update", "--defaults", project, cwd=project, check=False)

    assert result.returncode != 0
    assert "--trust" in result.stdout or "unsafe" in result.stdout.lower(), result.stdout
    assert (project / SRC / "middleware.py").is_file(), "nothing may change when refused"
    assert git("status", "--porcelain", cwd=project) == ""


def test_user_files_are_kept_byte_for_byte(updated: Updated) -> None:
    for path, content in updated.user_files.items():
        assert (updated.path / path).read_bytes() == content, path


def test_user_edits_to_template_files_are_kept(updated: Updated) -> None:
    app = (updated.path / SRC / "app.py").read_text()
    assert "from .orders.router import router as orders_router\n" in app
    assert '    app.include_router(orders_router, prefix="/api/v1")\n' in app
    assert '    "python-dotenv>=1.0.1",\n' in (updated.path / "pyproject.toml").read_text()


def test_template_changes_arrived(updated: Updated) -> None:
    assert HEALTH_DOCSTRING_V2 in (updated.path / SRC / "health.py").read_text()
    channel = (updated.path / SRC / "channel.py").read_text()
    assert 'RELEASE_CHANNEL = "stable"' in channel
    answers = yaml.safe_load((updated.path / ".copier-answers.yml").read_text())
    assert answers["_commit"] == "v0.2.0"
    assert answers["release_channel"] == "stable"


def test_migration_moved_the_renamed_file(updated: Updated) -> None:
    assert "migration: moved" in updated.output, updated.output
    assert not (updated.path / SRC / "middleware.py").exists()
    assert (updated.path / SRC / "request_context.py").is_file()
    app = (updated.path / SRC / "app.py").read_text()
    assert "from .request_context import" in app
    assert "from .middleware import" not in app


def test_no_conflicts_where_none_were_expected(updated: Updated) -> None:
    assert conflicted_files(updated.path) == []


def test_updated_project_passes_its_checks(updated: Updated) -> None:
    project = Project(path=updated.path, answers={})
    project.run("uv", "sync")
    project.uv_run("ruff", "check", "--no-cache")
    project.uv_run("ruff", "format", "--check", "--no-cache")
    project.uv_run("mypy")
    result = project.uv_run("pytest", "-q", "-p", "no:cacheprovider")
    assert " passed" in result.stdout, result.stdout


# ---------------------------------------------------------------------------
# A user edit on the very lines the release changes
# ---------------------------------------------------------------------------


def test_conflicting_edit_gets_conflict_markers_not_silent_loss(
    releases: Path, tmp_path: Path
) -> None:
    project = generate_committed(releases, tmp_path / "proj", "v0.1.0")
    health = project / SRC / "health.py"
    replace_in(health, HEALTH_DOCSTRING, HEALTH_DOCSTRING_USER)
    commit_all(project, "User docstring")

    update(project, "--trust")

    text = health.read_text()
    assert conflicted_files(project) == [str(SRC / "health.py")]
    assert "<<<<<<< before updating" in text
    assert ">>>>>>> after updating" in text
    assert HEALTH_DOCSTRING_USER in text, "the user's version must survive"
    assert HEALTH_DOCSTRING_V2 in text, "the template's version must be offered"


def test_renamed_file_keeps_user_edits(releases: Path, tmp_path: Path) -> None:
    """The migration moves the user's copy, so its edits travel to the new name."""
    project = generate_committed(releases, tmp_path / "proj", "v0.1.0")
    replace_in(
        project / SRC / "middleware.py",
        'REQUEST_ID_HEADER = "X-Request-ID"',
        'REQUEST_ID_HEADER = "X-Correlation-ID"',
    )
    commit_all(project, "User header name")

    update(project, "--trust")

    moved = (project / SRC / "request_context.py").read_text()
    assert 'REQUEST_ID_HEADER = "X-Correlation-ID"' in moved
    assert not (project / SRC / "middleware.py").exists()
    # Copier sees the moved file as new on both sides, so the edited line is offered as a
    # conflict against the template's line: shown, never lost.
    assert conflicted_files(project) == [str(SRC / "request_context.py")]


# ---------------------------------------------------------------------------
# Updating to the version a project already has
# ---------------------------------------------------------------------------


def test_update_to_the_same_version_is_a_no_op(releases: Path, tmp_path: Path) -> None:
    project = generate_committed(releases, tmp_path / "proj", "v0.2.0")

    update(project)  # no migration to cross: no --trust needed

    assert git("status", "--porcelain", cwd=project) == ""


# ---------------------------------------------------------------------------
# The README's first command: the source it records must serve later updates
# ---------------------------------------------------------------------------

RELEASE_NOTE = "template/RELEASE-NOTE.md"


def readme_first_command() -> str:
    """The command of the README's first `sh` block (the way to generate a service)."""
    text = (ROOT / "README.md").read_text()
    match = re.search(r"```sh\n(.*?)```", text, re.DOTALL)
    assert match, "README.md has no ```sh block"
    lines = [line for line in match[1].splitlines() if line.strip()]
    assert len(lines) == 1, f"the README's first block is not one command: {lines}"
    return lines[0]


def test_readme_first_command_records_a_source_update_can_use(tmp_path: Path) -> None:
    """In a clone of the template (with a release tag), generate exactly as the README says;
    after a new release, `copier check-update` sees it and `copier update` takes it."""
    origin = tmp_path / "origin"
    snapshot_template(origin)
    git("init", "-q", "-b", "main", cwd=origin)
    commit_all(origin, "v1.0.0")
    git("tag", "v1.0.0", cwd=origin)
    clone = tmp_path / "work" / "fastapi-service-template"
    clone.parent.mkdir()
    git("clone", "-q", str(origin), str(clone), cwd=clone.parent)

    command = readme_first_command()
    assert command.startswith("uvx copier copy "), command
    # The README's shell line, run by a shell in the clone; `uvx copier` is this
    # environment's copier (the locked version, no download).
    local = command.replace("uvx copier", f"{shlex.quote(sys.executable)} -m copier", 1)
    run(["bash", "-c", local], cwd=clone, timeout=300)
    project = clone.parent / "my-service"
    assert (project / ".copier-answers.yml").is_file(), f"{command!r} did not generate {project}"
    git("init", "-q", "-b", "main", cwd=project)
    commit_all(project, "Generate from template")

    # A new release of the template, in the clone (as `git pull` would bring it).
    (clone / RELEASE_NOTE).write_text("Released in v1.1.0.\n")
    commit_all(clone, "v1.1.0")
    git("tag", "v1.1.0", cwd=clone)

    check = copier_cli("check-update", "--output-format", "json", cwd=project)
    report = json.loads(check.stdout.strip().splitlines()[-1])
    assert report["update_available"] is True, check.stdout
    assert report["latest_version"] == "1.1.0", check.stdout

    update(project)
    assert (project / "RELEASE-NOTE.md").read_text() == "Released in v1.1.0.\n"
    assert yaml.safe_load((project / ".copier-answers.yml").read_text())["_commit"] == "v1.1.0"
    commit_all(project, "Update from template")
    check = copier_cli("check-update", "--output-format", "json", cwd=project)
    assert json.loads(check.stdout.strip().splitlines()[-1])["update_available"] is False

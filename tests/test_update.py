"""`copier update` from an older release to a newer one keeps the user's work.

A temporary git repository holds two releases of the template:

- v0.1.0: the template as it was at that release: the request-context module was still
  called `middleware.py` (the real v0.2.0 migration in copier.yml moves it);
- v0.2.0: the template as it is now, plus representative changes a release makes: a
  modified file, a new file and a new question with a default.

A project generated from v0.1.0 gets user edits, then `copier update` takes it to v0.2.0.
"""

from __future__ import annotations

import ast
import itertools
import json
import re
import shlex
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import copier
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
# Template revisions across answers: turning an option on only adds revisions
# ---------------------------------------------------------------------------


def bool_questions() -> list[str]:
    """The options a user can turn on later: every yes/no question of copier.yml."""
    questions = yaml.safe_load((ROOT / "copier.yml").read_text())
    return sorted(
        name
        for name, spec in questions.items()
        if not name.startswith("_") and isinstance(spec, dict) and spec.get("type") == "bool"
    )


def revision_graph(versions: Path) -> dict[str, tuple[str, set[str]]]:
    """revision id -> (file name, parent ids), read from the revision files' assignments."""
    graph: dict[str, tuple[str, set[str]]] = {}
    for path in sorted(versions.glob("*.py")):
        values: dict[str, object] = {}
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                target, value = node.target.id, node.value
            elif isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
                target, value = node.targets[0].id, node.value
            else:
                continue
            if target in ("revision", "down_revision") and value is not None:
                values[target] = ast.literal_eval(value)
        revision, parents = values.get("revision"), values.get("down_revision")
        assert isinstance(revision, str), f"{path.name}: no `revision`"
        assert revision not in graph, f"{path.name}: revision {revision} twice"
        parent_ids = {parents} if isinstance(parents, str) else set(parents or ())
        graph[revision] = (path.name, parent_ids)
    return graph


def heads_of(graph: dict[str, tuple[str, set[str]]]) -> set[str]:
    parents = {parent for _, revision_parents in graph.values() for parent in revision_parents}
    return set(graph) - parents


@pytest.fixture(scope="module")
def rendered_revisions(
    template: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[tuple[bool, ...], Path]:
    """migrations/versions rendered for every combination of the yes/no answers."""
    names = bool_questions()
    rendered = {}
    for values in itertools.product((False, True), repeat=len(names)):
        dst = tmp_path_factory.mktemp("revisions")
        copier.run_copy(
            src_path=str(template),
            dst_path=str(dst),
            data=dict(zip(names, values, strict=True)),
            defaults=True,
            unsafe=False,
            quiet=True,
            exclude=["*", "!migrations/", "!migrations/versions/", "!migrations/versions/*"],
        )
        rendered[values] = dst / "migrations" / "versions"
    return rendered


def test_every_answer_combination_has_one_head_and_one_base(
    rendered_revisions: dict[tuple[bool, ...], Path],
) -> None:
    names = bool_questions()
    for values, versions in rendered_revisions.items():
        label = ", ".join(f"{name}={value}" for name, value in zip(names, values, strict=True))
        graph = revision_graph(versions)
        dangling = {
            parent for _, parents in graph.values() for parent in parents if parent not in graph
        }
        assert not dangling, f"{label}: parents missing: {dangling}"
        assert len(heads_of(graph)) == 1, f"{label}: heads {sorted(heads_of(graph))}"
        bases = [revision for revision, (_, parents) in graph.items() if not parents]
        assert len(bases) == 1, f"{label}: bases {bases}"


def test_a_revision_is_the_same_file_whatever_the_other_answers(
    rendered_revisions: dict[tuple[bool, ...], Path],
) -> None:
    """Turning an option on in an existing project (`copier update -d auth=true`) may add
    revisions, never change one: a database that applied a revision would not apply its new
    content, nor a parent it was given since (Alembic would believe that one applied too)."""
    names = bool_questions()
    seen: dict[str, tuple[str, str, str]] = {}
    for values, versions in rendered_revisions.items():
        label = ", ".join(f"{name}={value}" for name, value in zip(names, values, strict=True))
        for revision, (file_name, _) in revision_graph(versions).items():
            content = (versions / file_name).read_text()
            first = seen.setdefault(revision, (label, file_name, content))
            assert (file_name, content) == first[1:], (
                f"revision {revision} differs between {first[0]} and {label}"
            )


# ---------------------------------------------------------------------------
# Turning an option on in a project with a domain and a revision of its own
# ---------------------------------------------------------------------------

ORDERS_MODELS = '''"""Orders: a table the user added."""

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from ..database import Base


class Order(Base):
    """An order, placed by a customer."""

    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer: Mapped[str] = mapped_column(String(100))
'''
ORDERS_ROUTER = '''"""Orders: a domain the user added."""

from fastapi import APIRouter
from sqlalchemy import select

from ..database import SessionDep
from .models import Order

router = APIRouter(prefix="/orders", tags=["orders"])


@router.get("")
async def list_customers(session: SessionDep) -> list[str]:
    """The customer of every order, oldest first."""
    return list(await session.scalars(select(Order.customer).order_by(Order.id)))
'''
ORDERS_IMPORT = (
    f"from {PACKAGE}.orders import models as _orders_models  # noqa: F401 - registers tables\n"
)
MERGE_COMMAND = 'uv run alembic merge heads -m "merge template migrations"'


def add_orders_domain(project: Path) -> None:
    """What CLAUDE.md's "Adding a domain" says: models, router, env.py import, app."""
    orders = project / SRC / "orders"
    orders.mkdir()
    (orders / "__init__.py").write_text('"""Orders."""\n')
    (orders / "models.py").write_text(ORDERS_MODELS)
    (orders / "router.py").write_text(ORDERS_ROUTER)
    logs_import = f"from {PACKAGE}.logs import configure_logging\n"
    replace_in(project / "migrations" / "env.py", logs_import, logs_import + ORDERS_IMPORT)
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


def alembic_heads(project: Project, env: dict[str, str]) -> set[str]:
    """The heads `alembic heads` lists (one line each: `<revision> (head)`)."""
    output = project.uv_run("alembic", "heads", env=env).stdout
    return {line.split()[0] for line in output.splitlines() if line.endswith("(head)")}


def applied(database: Path) -> set[str]:
    """The revisions the database is at (what `alembic current` shows)."""
    return {str(row[0]) for row in sqlite_rows(database, "SELECT version_num FROM alembic_version")}


def sqlite_rows(database: Path, sql: str, *params: object) -> list[tuple[object, ...]]:
    with sqlite3.connect(database) as connection:
        rows = connection.execute(sql, params).fetchall()
    connection.close()
    return rows


def sqlite_tables(database: Path) -> set[str]:
    return {str(row[0]) for row in sqlite_rows(database, "SELECT name FROM sqlite_master")}


def sqlite_columns(database: Path, table: str) -> set[str]:
    return {str(row[1]) for row in sqlite_rows(database, f"PRAGMA table_info({table})")}


def message_commands(output: str) -> list[str]:
    """The commands the update's message gives: its lines indented as a command block."""
    message = output[output.index('Updated "My Service".') :]
    return [line.strip() for line in message.splitlines() if line.startswith("  uv ")]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("answers", "option", "new_schema"),
    [
        pytest.param({}, "worker", ("items", "processed_at"), id="worker-on-an-auth-project"),
        # The worker revision is already applied here: turning auth on must not give it the
        # users revision as a parent (the database would believe users were created).
        pytest.param(
            {"auth": "false", "worker": "true"},
            "auth",
            ("users", "email"),
            id="auth-on-a-worker-project",
        ),
    ],
)
def test_turning_on_an_option_that_brings_a_migration(
    releases: Path,
    tmp_path: Path,
    answers: dict[str, str],
    option: str,
    new_schema: tuple[str, str],
) -> None:
    """The user added a domain and its revision, applied everything to a database with
    data; `copier update -d <option>=true` brings a template revision that shares its parent
    with the user's. Doing what the update's message (and the README) says leaves one head,
    upgrades that database, and the project passes its checks."""
    database = tmp_path / "app.db"
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{database}"}
    path = tmp_path / "proj"
    path.mkdir()
    data = [arg for name, value in answers.items() for arg in ("-d", f"{name}={value}")]
    copier_cli("copy", "--defaults", "--vcs-ref=v0.2.0", *data, releases, path, cwd=tmp_path)
    project = Project(path=path, answers={})
    project.run("uv", "sync")
    git("init", "-q", "-b", "main", cwd=path)
    commit_all(path, "Generate from template v0.2.0")

    # The template's schema, then data in it.
    project.uv_run("alembic", "upgrade", "head", env=env)
    if "owner_id" in sqlite_columns(database, "items"):
        sqlite_rows(database, "INSERT INTO users (email, hashed_password) VALUES ('a@b.c', 'x')")
        sqlite_rows(database, "INSERT INTO items (name, owner_id) VALUES ('kept', 1)")
    else:
        sqlite_rows(database, "INSERT INTO items (name) VALUES ('kept')")
    # The user's domain and its revision, autogenerated on top of the template's head.
    versions = path / "migrations" / "versions"
    (template_head,) = heads_of(revision_graph(versions))
    add_orders_domain(path)
    project.uv_run("alembic", "revision", "--autogenerate", "-m", "create orders", env=env)
    graph = revision_graph(versions)
    (user_head,) = heads_of(graph)
    assert graph[user_head][1] == {template_head}, "the user's revision follows the head"
    project.uv_run("alembic", "upgrade", "head", env=env)
    sqlite_rows(database, "INSERT INTO orders (customer) VALUES ('alice')")
    commit_all(path, "Orders")

    result = update(path, "-d", f"{option}=true")

    assert conflicted_files(path) == []
    commands = message_commands(result.stdout)
    assert commands == [
        "uv sync",
        "uv run alembic heads",
        MERGE_COMMAND,
        "uv run alembic upgrade head",
        "uv run pytest",
    ], result.stdout
    project.run("uv", "sync")
    heads = alembic_heads(project, env)
    assert len(heads) > 1 and user_head in heads, "the update should fork the history"
    # Before the merge, what fails says what to run.
    refused = project.uv_run("alembic", "upgrade", "head", env=env, check=False)
    assert refused.returncode != 0
    assert MERGE_COMMAND in refused.stdout, refused.stdout
    assert applied(database) == {user_head}
    one_head = project.uv_run(
        *("pytest", "-q", "-p", "no:cacheprovider", "tests/test_migrations.py", "-k", "one_head"),
        check=False,
    )
    assert one_head.returncode != 0
    assert MERGE_COMMAND in one_head.stdout, one_head.stdout

    # What the message says: merge (there is more than one head), upgrade.
    project.run(*shlex.split(MERGE_COMMAND), env=env)
    (merged,) = alembic_heads(project, env)
    assert revision_graph(versions)[merged][1] == heads
    items = [("kept",)]
    if option == "auth":
        # The README: items need an owner, so the users revision stops, changing nothing,
        # while there are items; here the user chooses to empty the table.
        stopped = project.uv_run("alembic", "upgrade", "head", env=env, check=False)
        assert stopped.returncode != 0
        assert "owner_id" in stopped.stdout, stopped.stdout
        assert applied(database) == {user_head}
        assert "users" not in sqlite_tables(database)
        sqlite_rows(database, "DELETE FROM items")
        items = []
    project.uv_run("alembic", "upgrade", "head", env=env)

    assert applied(database) == {merged}
    assert new_schema[1] in sqlite_columns(database, new_schema[0])
    assert sqlite_rows(database, "SELECT name FROM items") == items
    assert sqlite_rows(database, "SELECT customer FROM orders") == [("alice",)]
    project.uv_run("alembic", "check", env=env)  # the upgraded database matches the models
    project.uv_run("ruff", "check", "--no-cache")
    project.uv_run("ruff", "format", "--check", "--no-cache")
    project.uv_run("mypy")
    # The contract fuzzer (most of the suite's time) has nothing to do with migrations; the
    # main update scenario above runs it.
    tests = project.uv_run(
        *("pytest", "-q", "-p", "no:cacheprovider", "--deselect", "tests/test_contract.py")
    )
    assert " passed" in tests.stdout, tests.stdout


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

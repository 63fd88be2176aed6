"""`copier update` from an older release to a newer one keeps the user's work.

A temporary git repository holds the template's real releases, tagged: v0.1.0, v0.2.0
and v0.3.0 from this repository's history (`RELEASES`), and `LATEST` (v1.0.0), the
template as it is on disk now. Projects generated from an older tag get user edits,
then `copier update` takes them to `LATEST` through the real `_migrations` of copier.yml
(v0.2.0 renamed middleware.py; v1.0.0 moves the shared modules into core/ and
observability/).
"""

from __future__ import annotations

import ast
import difflib
import filecmp
import io
import itertools
import json
import re
import shlex
import shutil
import sqlite3
import subprocess
import sys
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import copier
import pytest
import yaml
from support import ROOT, Project, copier_cli, project_files, run, snapshot_template

PACKAGE = "my_service"
SRC = Path("src") / PACKAGE

RELEASES = {"v0.1.0": "2d4fe74", "v0.2.0": "c266015", "v0.3.0": "7358b1c"}
"""Released tags and their commits in this repository (v0.3.0: the hardening round)."""
LATEST = "v1.0.0"
"""The tag the working tree gets in the temporary repository."""
ALL_OPTIONS = {"worker": "true", "cache": "true", "observability": "true"}

GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Template Tests",
    "GIT_AUTHOR_EMAIL": "tests@example.com",
    "GIT_COMMITTER_NAME": "Template Tests",
    "GIT_COMMITTER_EMAIL": "tests@example.com",
}
MERGE_COMMAND = 'uv run alembic merge heads -m "merge template migrations"'
CONFLICT_START = "<<<<<<< before updating"
CONFLICT_END = ">>>>>>> after updating"


def git(*args: str, cwd: Path) -> str:
    return run(["git", *args], cwd=cwd, env=GIT_IDENTITY).stdout


def commit_all(cwd: Path, message: str) -> None:
    git("add", "-A", cwd=cwd)
    git("commit", "-q", "--no-verify", "-m", message, cwd=cwd)


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not found in {path}"
    path.write_text(text.replace(old, new, 1))


def clear_work_tree(repo: Path) -> None:
    for child in repo.iterdir():
        if child.name != ".git":
            shutil.rmtree(child) if child.is_dir() else child.unlink()


def extract_commit(commit: str, dst: Path) -> None:
    """The files of `commit` of this repository, as `git archive` gives them."""
    result = subprocess.run(
        ["git", "archive", "--format=tar", commit],
        cwd=ROOT,
        capture_output=True,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    if result.returncode != 0:
        pytest.fail(
            f"commit {commit} is not in {ROOT} ({result.stderr.decode().strip()}): the update "
            "tests build the released versions from the repository's history; fetch it "
            "(`git fetch --unshallow --tags`, or `fetch-depth: 0` in CI)",
            pytrace=False,
        )
    with tarfile.open(fileobj=io.BytesIO(result.stdout)) as archive:
        archive.extractall(dst, filter="data")


@pytest.fixture(scope="module")
def releases(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git repository of the template with a tag per release, `LATEST` the newest."""
    repo = tmp_path_factory.mktemp("releases") / "template"
    repo.mkdir()
    git("init", "-q", "-b", "main", cwd=repo)
    for tag, commit in RELEASES.items():
        clear_work_tree(repo)
        extract_commit(commit, repo)
        commit_all(repo, f"Release {tag}")
        git("tag", tag, cwd=repo)
    clear_work_tree(repo)
    snapshot_template(repo)
    commit_all(repo, f"Release {LATEST}")
    git("tag", LATEST, cwd=repo)
    return repo


def generate(
    releases: Path, dst: Path, version: str, answers: dict[str, str] | None = None
) -> Path:
    """`copier copy` of the release `version` into `dst`, not committed."""
    data = [arg for name, value in (answers or {}).items() for arg in ("-d", f"{name}={value}")]
    copier_cli("copy", "--defaults", f"--vcs-ref={version}", *data, releases, dst, cwd=dst.parent)
    return dst


def generate_committed(
    releases: Path, dst: Path, version: str, answers: dict[str, str] | None = None
) -> Path:
    generate(releases, dst, version, answers)
    git("init", "-q", "-b", "main", cwd=dst)
    commit_all(dst, f"Generate from template {version}")
    return dst


def update(project: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """`copier update` as the README says, answering nothing new."""
    return copier_cli("update", "--defaults", *extra, project, cwd=project)


def conflicted_files(project: Path) -> list[str]:
    """Files with a line that opens a conflict, and rejected hunks (`*.rej`)."""
    found = []
    for path in project_files(project):
        name = str(path.relative_to(project))
        lines = path.read_text(errors="replace").splitlines()
        if name.endswith(".rej") or any(line.startswith("<<<<<<< ") for line in lines):
            found.append(name)
    return sorted(found)


def moves_of(version: str) -> list[tuple[Path, Path]]:
    """The (OLD, NEW) paths the `_migrations` entry of `version` in copier.yml moves."""
    config = yaml.safe_load((ROOT / "copier.yml").read_text())
    (entry,) = [entry for entry in config["_migrations"] if entry["version"] == version]
    paths = [arg for arg in entry["command"] if not arg.startswith(("{{", "--"))]
    formatted = [Path(path.format(package_name=PACKAGE)) for path in paths]
    return list(zip(formatted[::2], formatted[1::2], strict=True))


def moved_modules(version: str) -> dict[str, str]:
    """Module paths below the package the release moves: `database` -> `core.database`."""
    modules = {}
    for old, new in moves_of(version):
        old_module = old.relative_to(SRC).with_suffix("").as_posix().replace("/", ".")
        new_module = new.relative_to(SRC).with_suffix("").as_posix().replace("/", ".")
        modules[old_module] = new_module.removesuffix(".__init__")
    return modules


def template_has(path: Path) -> bool:
    """Whether the template on disk generates `path` (whatever the options)."""
    answers = {"package_name": PACKAGE}
    names = set()
    for source in (ROOT / "template").rglob("*"):
        name = source.relative_to(ROOT / "template").as_posix()
        name = re.sub(r"{{\s*(\w+)\s*}}", lambda match: answers[match[1]], name)
        names.add(re.sub(r"{%.*?%}", "", name).removesuffix(".jinja"))
    return path.as_posix() in names


# ---------------------------------------------------------------------------
# Migrations: what they refuse, and an unedited project
# ---------------------------------------------------------------------------


def test_update_refuses_to_run_a_migration_without_trust(releases: Path, tmp_path: Path) -> None:
    project = generate_committed(releases, tmp_path / "proj", "v0.3.0")

    result = copier_cli("update", "--defaults", project, cwd=project, check=False)

    assert result.returncode != 0
    assert "--trust" in result.stdout or "unsafe" in result.stdout.lower(), result.stdout
    assert (project / SRC / "database.py").is_file(), "nothing may change when refused"
    assert git("status", "--porcelain", cwd=project) == ""


@pytest.mark.parametrize(
    ("version", "answers"),
    [
        pytest.param("v0.3.0", ALL_OPTIONS, id="v0.3.0-all-options"),
        pytest.param("v0.2.0", {"auth": "false"}, id="v0.2.0-no-auth", marks=pytest.mark.slow),
        pytest.param("v0.1.0", {}, id="v0.1.0", marks=pytest.mark.slow),
    ],
)
def test_unedited_project_becomes_what_the_release_generates(
    releases: Path, tmp_path: Path, version: str, answers: dict[str, str]
) -> None:
    """The migrations move the files and the update changes them, without a conflict: the
    project is file for file what `LATEST` generates with the same answers."""
    project = generate_committed(releases, tmp_path / "proj", version, answers)

    result = update(project, "--trust")

    assert conflicted_files(project) == []
    fresh = generate(releases, tmp_path / "fresh", LATEST, answers)
    names = {
        str(path.relative_to(root))
        for root in (project, fresh)
        for path in project_files(root)
        if path.name != ".copier-answers.yml"
    }
    different = [
        name
        for name in sorted(names)
        if not ((project / name).is_file() and (fresh / name).is_file())
        or not filecmp.cmp(project / name, fresh / name, shallow=False)
    ]
    assert different == [], result.stdout
    moved = [old for old, new in moves_of(LATEST) if template_has(new)]
    assert not any((project / old).exists() for old in moved)


def test_update_to_the_same_version_is_a_no_op(releases: Path, tmp_path: Path) -> None:
    project = generate_committed(releases, tmp_path / "proj", LATEST)

    update(project)  # no migration to cross: no --trust needed

    assert git("status", "--porcelain", cwd=project) == ""


# ---------------------------------------------------------------------------
# Edits to a moved file travel with it
# ---------------------------------------------------------------------------


def test_edit_of_a_renamed_file_follows_it(releases: Path, tmp_path: Path) -> None:
    """From v0.1.0: v0.2.0 renamed middleware.py and v1.0.0 moves it into core/; the
    edit lands in the file where it lives now, merged with the releases' changes."""
    project = generate_committed(releases, tmp_path / "proj", "v0.1.0")
    replace_in(
        project / SRC / "middleware.py",
        'REQUEST_ID_HEADER = "X-Request-ID"',
        'REQUEST_ID_HEADER = "X-Correlation-ID"',
    )
    commit_all(project, "User header name")

    result = update(project, "--trust")

    moved = (project / SRC / "core" / "request_context.py").read_text()
    assert 'REQUEST_ID_HEADER = "X-Correlation-ID"' in moved
    assert not (project / SRC / "middleware.py").exists()
    assert not (project / SRC / "request_context.py").exists()
    assert "your edits merged" in result.stdout, result.stdout
    assert conflicted_files(project) == []


def test_colliding_edit_of_a_moved_file_gets_conflict_markers(
    releases: Path, tmp_path: Path
) -> None:
    """An edit on a line the release changes too: both versions are shown, marked as
    Copier marks its own conflicts, and the rest of the file is the release's."""
    project = generate_committed(releases, tmp_path / "proj", "v0.3.0")
    user_line = "from .settings import Settings  # our settings, with the orders fields\n"
    replace_in(project / SRC / "database.py", "from .settings import Settings\n", user_line)
    commit_all(project, "User comment")

    update(project, "--trust")

    moved = project / SRC / "core" / "database.py"
    assert conflicted_files(project) == [str(SRC / "core" / "database.py")]
    status = git("status", "--porcelain", "--", str(moved.relative_to(project)), cwd=project)
    assert status == f"UU {SRC / 'core' / 'database.py'}\n", "unmerged, as Copier marks them"
    lines = moved.read_text().splitlines(keepends=True)
    start, end = lines.index(CONFLICT_START + "\n"), lines.index(CONFLICT_END + "\n")
    conflict = "".join(lines[start:end])
    assert user_line in conflict, "the user's version must survive"
    assert "from .settings import CoreSettings, DatabaseSettings\n" in conflict, (
        "the release's must be offered"
    )
    fresh = generate(releases, tmp_path / "fresh", LATEST)
    resolved = "".join(take_new_side(moved.read_text()))
    assert resolved == (fresh / SRC / "core" / "database.py").read_text()


# ---------------------------------------------------------------------------
# The main scenario: a v0.3.0 project with every option, and the user's own work
# ---------------------------------------------------------------------------


def orders_files(shape: dict[str, str]) -> dict[Path, str]:
    """The user's orders domain. `shape` maps each shared module the code imports to its
    path in the release the code is written for (`moved_modules`: v1.0.0's moves)."""

    def module(name: str) -> str:
        return shape.get(name, name)

    return {
        SRC / "orders" / "__init__.py": '"""Orders: what customers buy."""\n',
        SRC / "orders" / "models.py": f'''"""Orders: the table."""

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from ..{module("database")} import Base


class Order(Base):
    """An order, placed by a customer."""

    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer: Mapped[str] = mapped_column(String(100))
    quantity: Mapped[int] = mapped_column(default=1)
''',
        SRC / "orders" / "schemas.py": '''"""Orders: what the API shows of them."""

from pydantic import BaseModel, ConfigDict


class OrderRead(BaseModel):
    """An order as the API returns it."""

    model_config = ConfigDict(from_attributes=True, use_attribute_docstrings=True)

    id: int
    """The order's id."""
    customer: str
    """Who placed it."""
    quantity: int
    """How many they ordered."""
''',
        SRC / "orders" / "service.py": '''"""Order use cases: they take a session and only flush."""

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from .models import Order


async def create_order(session: AsyncSession, customer: str, quantity: int = 1) -> Order:
    """Add an order; the caller owns the transaction."""
    order = Order(customer=customer, quantity=quantity)
    session.add(order)
    await session.flush()
    return order


async def list_orders(session: AsyncSession, limit: int) -> Sequence[Order]:
    """The first `limit` orders, oldest first."""
    return (await session.scalars(select(Order).order_by(Order.id).limit(limit))).all()
''',
        SRC / "orders" / "router.py": f'''"""Orders: the HTTP API."""

from fastapi import APIRouter

from ..{module("dependencies")} import SessionDep, SettingsDep
from ..{module("problems")} import problem_responses
from . import service
from .schemas import OrderRead

router = APIRouter(prefix="/orders", tags=["orders"], responses=problem_responses(503))


@router.get("")
async def list_orders(session: SessionDep, settings: SettingsDep) -> list[OrderRead]:
    """Every order, oldest first, up to `ORDERS_PAGE_SIZE` of them."""
    orders = await service.list_orders(session, limit=settings.orders_page_size)
    return [OrderRead.model_validate(order) for order in orders]
''',
    }


ORDERS_TESTS = {
    Path("tests") / "orders" / "__init__.py": "",
    Path("tests") / "orders" / "test_router.py": f'''"""GET /api/v1/orders."""

from httpx import AsyncClient

from {PACKAGE}.orders.models import Order


async def test_orders_are_listed_oldest_first(
    anonymous_client: AsyncClient, orders: list[Order]
) -> None:
    """Orders come back in the order they were placed."""
    response = await anonymous_client.get("/api/v1/orders")

    assert response.status_code == 200
    assert [order["customer"] for order in response.json()] == ["alice", "bob"]
''',
}

ORDERS_APP_IMPORT = "from .orders.router import router as orders_router\n"
ORDERS_APP_ROUTER = '    app.include_router(orders_router, prefix="/api/v1")\n'
ITEMS_APP_ROUTER = '    app.include_router(items_router, prefix="/api/v1")\n'
ORDERS_ENV_IMPORT = (
    f"from {PACKAGE}.orders import models as _orders_models  # noqa: F401 - registers tables\n"
)
ORDERS_SETTING = (
    "    orders_page_size: int = Field(default=50, ge=1)\n"
    '    """The most orders `GET /api/v1/orders` returns."""\n'
)
SETTINGS_ANCHOR = "    max_request_body_bytes: int = Field(default=1_048_576, ge=1)\n"
"""The line of `Settings` the user's field follows."""
ORDERS_CONFTEST_IMPORTS = (
    f"from {PACKAGE}.orders.models import Order\n",
    f"from {PACKAGE}.orders.service import create_order\n",
)
ORDERS_FIXTURE = '''

@pytest.fixture
async def orders(session: AsyncSession) -> list[Order]:
    """Two orders of different customers, in the test's transaction."""
    return [
        await create_order(session, "alice"),
        await create_order(session, "bob", quantity=2),
    ]
'''
DATABASE_ADDITION = '''

def is_sqlite(engine: AsyncEngine) -> bool:
    """Whether `engine` talks to SQLite (our reports need to know)."""
    return engine.dialect.name == "sqlite"
'''
"""The user's addition to a module the release moves (and changes elsewhere)."""
ORDERS_REVISION_ID = "0a7c3e9d5b21"


def orders_revision(down_revision: str) -> str:
    """The user's Alembic revision: the orders table, after the template's head."""
    return f'''"""create orders

Revision ID: {ORDERS_REVISION_ID}
Revises: {down_revision}
Create Date: 2026-12-10 09:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "{ORDERS_REVISION_ID}"
down_revision: str | None = "{down_revision}"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer", sa.String(length=100), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
    )


def downgrade() -> None:
    op.drop_table("orders")
'''


def insert_import(text: str, line: str) -> str:
    """`text` with the import `line` among the top-level imports of its kind (`from .`,
    `from <package>.`), where isort puts it; unchanged if it is there."""
    if line in text:
        return text
    prefix = line[: line.index(".") + 1]
    key = line.split()[1]
    lines = text.splitlines(keepends=True)
    position = None
    for index, current in enumerate(lines):
        if not current.startswith(prefix):
            continue
        if current.split()[1] > key:
            position = index
            break
        position = index + 1
        if current.rstrip().endswith("("):  # past a parenthesised import
            while not lines[position - 1].startswith(")"):
                position += 1
    assert position is not None, f"no `{prefix}` import to put {line!r} beside"
    lines.insert(position, line)
    return "".join(lines)


def insert_after(text: str, anchor: str, addition: str) -> str:
    """`text` with `addition` after the line `anchor`; unchanged if it is there."""
    if addition in text:
        return text
    assert anchor in text, f"{anchor!r} not found"
    return text.replace(anchor, anchor + addition, 1)


def add_orders_domain(project: Path, shape: dict[str, str]) -> None:
    """What CLAUDE.md's "Adding a domain" says: the domain's modules, its router in the
    app, its models in migrations/env.py; here with a setting of its own too."""
    for path, content in orders_files(shape).items():
        path = project / path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    app = project / SRC / "app.py"
    if ITEMS_FEATURE in app.read_text():
        (project / SRC / "orders" / "feature.py").write_text(ORDERS_FEATURE_FILE)
    app.write_text(reapply_app(app.read_text()))
    env = project / "migrations" / "env.py"
    env.write_text(reapply_env(env.read_text()))
    settings = project / SRC / "settings.py"
    settings.write_text(reapply_settings(settings.read_text()))


def add_orders_tests(project: Path) -> None:
    """The domain's tests, and their fixture in tests/conftest.py."""
    for path, content in ORDERS_TESTS.items():
        path = project / path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    conftest = project / "tests" / "conftest.py"
    if "pytest_plugins" in conftest.read_text():
        (project / "tests" / "fixtures" / "orders.py").write_text(ORDERS_FIXTURE_MODULE)
    conftest.write_text(reapply_conftest(conftest.read_text()))


def added_lines(before: str, after: str) -> list[str]:
    """The lines `after` has that `before` had not (what an edit added or changed)."""
    matcher = difflib.SequenceMatcher(a=before.splitlines(), b=after.splitlines(), autojunk=False)
    return [
        line
        for tag, _, _, start, end in matcher.get_opcodes()
        if tag in ("replace", "insert")
        for line in after.splitlines()[start:end]
    ]


@dataclass
class Edited:
    """A v0.3.0 project with the user's work, updated to `LATEST`."""

    path: Path
    own_files: dict[Path, bytes]
    """Files only the user wrote, byte for byte as they left them."""
    added: dict[Path, list[str]]
    """Lines the user added to the template's files, by where the file is after the update."""
    output: str


EDITED_ANSWERS = {"auth": "true", "database": "sqlite", **ALL_OPTIONS}

EXPECTED_CONFLICTS = [
    str(SRC / "app.py"),
    str(SRC / "core" / "database.py"),
    str(SRC / "settings.py"),
    "migrations/env.py",
    "tests/conftest.py",
]
"""Where the user's edits meet lines the release moved or rewrote: app.py, settings.py and
conftest.py are rewritten (features, composed settings, fixture plugins), the imports next to
theirs in env.py change, and the end of database.py, where their helper went, changed too.
Adapt when `LATEST` changes these files."""


@pytest.fixture(scope="module")
def edited(releases: Path, tmp_path_factory: pytest.TempPathFactory) -> Edited:
    project = generate_committed(
        releases, tmp_path_factory.mktemp("edited") / "proj", "v0.3.0", EDITED_ANSWERS
    )
    versions = project / "migrations" / "versions"
    (template_head,) = heads_of(revision_graph(versions))
    edited_files = [
        SRC / "app.py",
        SRC / "settings.py",
        SRC / "database.py",
        Path("migrations") / "env.py",
        Path("tests") / "conftest.py",
    ]
    before = {path: (project / path).read_text() for path in edited_files}

    add_orders_domain(project, shape={})
    add_orders_tests(project)
    with (project / SRC / "database.py").open("a") as database:
        database.write(DATABASE_ADDITION)
    revision = versions / f"2026_12_10_0900-{ORDERS_REVISION_ID}_create_orders.py"
    revision.write_text(orders_revision(template_head))
    commit_all(project, "Orders")
    (project / ".env").write_text("LOG_LEVEL=DEBUG\nORDERS_PAGE_SIZE=20\n")  # not in git

    own = [*orders_files({}), *ORDERS_TESTS, revision.relative_to(project), Path(".env")]
    own_files = {path: (project / path).read_bytes() for path in own}
    moved = dict(moves_of(LATEST))
    added = {
        moved.get(path, path): added_lines(text, (project / path).read_text())
        for path, text in before.items()
    }
    result = update(project, "--trust")
    return Edited(path=project, own_files=own_files, added=added, output=result.stdout)


def test_user_files_are_kept_byte_for_byte(edited: Edited) -> None:
    for path, content in edited.own_files.items():
        assert (edited.path / path).read_bytes() == content, path


def test_no_line_the_user_added_is_lost(edited: Edited) -> None:
    """Every line the user added to a template file is in the file (where it moved to),
    merged or inside conflict markers."""
    for path, lines in edited.added.items():
        assert lines, f"the scenario edits {path}"
        text = (edited.path / path).read_text().splitlines()
        missing = [line for line in lines if line not in text]
        assert missing == [], f"{path} lost {missing}"


def test_conflicts_are_where_the_user_edited_lines_the_release_changed(edited: Edited) -> None:
    assert conflicted_files(edited.path) == sorted(EXPECTED_CONFLICTS), edited.output
    for name in EXPECTED_CONFLICTS:
        text = (edited.path / name).read_text().splitlines()
        assert CONFLICT_START in text and CONFLICT_END in text, name


def test_migrations_moved_the_shared_modules(edited: Edited) -> None:
    assert f"moved {SRC / 'database.py'} to {SRC / 'core' / 'database.py'}" in edited.output
    for old, new in moves_of(LATEST):
        if template_has(new):
            assert not (edited.path / old).exists(), old
    core_database = (edited.path / SRC / "core" / "database.py").read_text()
    assert DATABASE_ADDITION.strip() in core_database, "the user's helper travels with the file"
    assert "from .settings import CoreSettings, DatabaseSettings\n" in core_database


# The resolution: what the user does after the update, one small function per file.
# Each takes the release's side of every conflict, then puts the user's change back in
# the file's new shape; each is idempotent, so that a file that merged cleanly passes
# through unchanged. Adapt them when `LATEST` reshapes a file.


def take_new_side(text: str) -> list[str]:
    """The lines of `text` with each conflict resolved to the release's side."""
    kept, side = [], None
    for line in text.splitlines(keepends=True):
        if line.startswith("<<<<<<< "):
            side = "ours"
        elif side == "ours" and line.startswith("|||||||"):
            side = "base"
        elif side in ("ours", "base") and line.rstrip("\n") == "=======":
            side = "theirs"
        elif side == "theirs" and line.startswith(">>>>>>> "):
            side = None
        elif side in (None, "theirs"):
            kept.append(line)
    assert side is None, "unterminated conflict"
    return kept


def resolve(project: Path, path: Path, reapply: Callable[[str], str]) -> None:
    file = project / path
    file.write_text(reapply("".join(take_new_side(file.read_text()))))


ORDERS_FEATURE_FILE = '''"""Orders, as a feature of the app: its routes."""

from ..core.features import Feature
from .router import router


class OrdersFeature(Feature):
    """Orders: list them."""

    routers = (router,)
'''
APP_PLUGIN = '    "tests.fixtures.app",\n'
ORDERS_PLUGIN = '    "tests.fixtures.orders",\n'
ORDERS_FIXTURE_MODULE = (
    '"""The orders fixture, a pytest plugin listed in tests/conftest.py."""\n\n'
    "import pytest\n"
    "from sqlalchemy.ext.asyncio import AsyncSession\n\n"
    + "".join(ORDERS_CONFTEST_IMPORTS)
    + ORDERS_FIXTURE
)
ORDERS_FEATURE_IMPORT = "from .orders.feature import OrdersFeature\n"
ITEMS_FEATURE = "        ItemsFeature(),\n"
ORDERS_FEATURE = "        OrdersFeature(),\n"
SETTINGS_CONFIG_END = (
    '        env_file=".env", extra="ignore", frozen=True, hide_input_in_errors=True\n    )\n'
)
"""The end of the new `Settings`' body, which the user's field follows."""


def reapply_app(text: str) -> str:
    """The orders router in the app: a feature in v1.0.0's list, an include before it."""
    if ITEMS_FEATURE in text:
        text = insert_import(text, ORDERS_FEATURE_IMPORT)
        return insert_after(text, ITEMS_FEATURE, ORDERS_FEATURE)
    text = insert_import(text, ORDERS_APP_IMPORT)
    return insert_after(text, ITEMS_APP_ROUTER, ORDERS_APP_ROUTER)


def reapply_settings(text: str) -> str:
    """The orders setting in `Settings`: its own body in v1.0.0, after a field before it."""
    if SETTINGS_ANCHOR in text:
        return insert_after(text, SETTINGS_ANCHOR, ORDERS_SETTING)
    if "from pydantic import Field\n" not in text:
        field_import = "from pydantic import Field\nfrom pydantic_settings "
        text = text.replace("from pydantic_settings ", field_import, 1)
    return insert_after(text, SETTINGS_CONFIG_END, "\n" + ORDERS_SETTING)


def reapply_env(text: str) -> str:
    """The orders models, registered in the new migrations/env.py."""
    return insert_import(text, ORDERS_ENV_IMPORT)


def reapply_conftest(text: str) -> str:
    """The orders fixture: its plugin in v1.0.0's list (the module is
    `ORDERS_FIXTURE_MODULE`), the fixture itself in conftest.py before."""
    if "pytest_plugins" in text:
        return insert_after(text, APP_PLUGIN, ORDERS_PLUGIN)
    for line in ORDERS_CONFTEST_IMPORTS:
        text = insert_import(text, line)
    return text if ORDERS_FIXTURE in text else text + ORDERS_FIXTURE


def reapply_database(text: str) -> str:
    """The user's helper, at the end of the moved database module."""
    return text if DATABASE_ADDITION in text else text + DATABASE_ADDITION


RESOLUTIONS: dict[Path, Callable[[str], str]] = {
    SRC / "app.py": reapply_app,
    SRC / "settings.py": reapply_settings,
    SRC / "core" / "database.py": reapply_database,
    Path("migrations") / "env.py": reapply_env,
    Path("tests") / "conftest.py": reapply_conftest,
}


def follow_moved_imports(project: Path) -> None:
    """The user's own modules import the shared ones from where the release put them
    (what mypy and ruff point out after the update)."""
    shape = moved_modules(LATEST)
    for path, content in orders_files(shape).items():
        (project / path).write_text(content)
    (project / SRC / "orders" / "feature.py").write_text(ORDERS_FEATURE_FILE)
    (project / "tests" / "fixtures" / "orders.py").write_text(ORDERS_FIXTURE_MODULE)


@pytest.mark.slow
def test_resolved_project_has_one_head_and_passes_its_checks(edited: Edited) -> None:
    project = Project(path=edited.path, answers={})
    project.run("uv", "sync")
    versions = edited.path / "migrations" / "versions"
    heads = alembic_heads(project, {})
    if heads != {ORDERS_REVISION_ID}:
        # The release brought a revision of its own: join the heads, as the message says.
        assert MERGE_COMMAND in edited.output
        assert ORDERS_REVISION_ID in heads
        project.run(*shlex.split(MERGE_COMMAND))
        (merged,) = alembic_heads(project, {})
        assert revision_graph(versions)[merged][1] == heads
    assert len(alembic_heads(project, {})) == 1

    for path, reapply in RESOLUTIONS.items():
        resolve(edited.path, path, reapply)
    follow_moved_imports(edited.path)
    assert conflicted_files(edited.path) == []
    # The user's lines stay, except where the new shape puts them elsewhere: their router
    # include becomes a feature in app.py's list, their fixture a plugin module.
    reshaped = {
        ORDERS_APP_IMPORT.rstrip("\n"): ORDERS_FEATURE_IMPORT.rstrip("\n"),
        ORDERS_APP_ROUTER.rstrip("\n"): ORDERS_FEATURE.rstrip("\n"),
    }
    fixture_module = ORDERS_FIXTURE_MODULE.splitlines()
    for path, lines in edited.added.items():
        text = (edited.path / path).read_text().splitlines()
        missing = [
            line
            for line in lines
            if line not in text and reshaped.get(line) not in text and line not in fixture_module
        ]
        assert missing == [], path

    project.uv_run("ruff", "check", "--no-cache")
    project.uv_run("ruff", "format", "--check", "--no-cache")
    project.uv_run("mypy")
    result = project.uv_run("pytest", "-q", "-p", "no:cacheprovider")
    assert " passed" in result.stdout, result.stdout
    orders = project.uv_run("pytest", "-q", "-p", "no:cacheprovider", "tests/orders")
    assert "1 passed" in orders.stdout, orders.stdout


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
    upgrades that database, and the project passes its lint, types and migration tests."""
    database = tmp_path / "app.db"
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{database}"}
    path = tmp_path / "proj"
    path.mkdir()
    data = [arg for name, value in answers.items() for arg in ("-d", f"{name}={value}")]
    copier_cli("copy", "--defaults", f"--vcs-ref={LATEST}", *data, releases, path, cwd=tmp_path)
    project = Project(path=path, answers={})
    project.run("uv", "sync")
    git("init", "-q", "-b", "main", cwd=path)
    commit_all(path, f"Generate from template {LATEST}")

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
    add_orders_domain(path, moved_modules(LATEST))
    project.uv_run("alembic", "revision", "--autogenerate", "-m", "create orders", env=env)
    graph = revision_graph(versions)
    (user_head,) = heads_of(graph)
    assert graph[user_head][1] == {template_head}, "the user's revision follows the head"
    project.uv_run("alembic", "upgrade", "head", env=env)
    sqlite_rows(database, "INSERT INTO orders (customer, quantity) VALUES ('alice', 1)")
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
    # The project's migration tests (one head; upgrade, downgrade and upgrade again on a new
    # database; the models match). The whole suite of an updated project runs in the main
    # update scenario above, and that of a copy with these options in
    # test_generated_project.py.
    tests = project.uv_run("pytest", "-q", "-p", "no:cacheprovider", "tests/test_migrations.py")
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

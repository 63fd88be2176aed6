"""Generation: what copier writes, for the default answers and for each choice."""

from __future__ import annotations

import json
import re
import tomllib
from collections import defaultdict
from pathlib import Path, PurePosixPath
from urllib.parse import parse_qsl, urlsplit

import pytest
import yaml
from support import (
    PYTHON_VERSIONS,
    ROOT,
    SEED_DIR,
    copier_cli,
    generate,
    project_files,
    read_answers,
)
from template_tree import files_brought_by, generated_files

DEFAULTS = {
    "project_name": "My Service",
    "project_slug": "my-service",
    "package_name": "my_service",
    "description": "An async FastAPI service.",
    "author_name": "Your Name",
    "author_email": "you@example.com",
    "python_version": "3.13",
    "database": "sqlite",
    "auth": True,
    "worker": False,
    "cache": False,
    "observability": False,
}

CUSTOM = {
    "project_name": "Acme Orders",
    "description": "Takes orders for Acme.",
    "author_name": "Acme Platform Team",
    "author_email": "platform.team+orders@mail.acme-corp.example",
}

PORTABLE_NAME = re.compile(r"[A-Za-z0-9._-]+")
WORKFLOWS = PurePosixPath(".github/workflows")


def rel(project: Path, path: Path) -> PurePosixPath:
    return PurePosixPath(path.relative_to(project).as_posix())


def dependency_names(project: Path) -> set[str]:
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    names = set()
    for requirement in pyproject["project"]["dependencies"]:
        match = re.match(r"[A-Za-z0-9._-]+", requirement)
        assert match, f"unparsable requirement {requirement!r}"
        names.add(match[0].lower().replace("_", "-"))
    return names


def workflow_files(project: Path) -> list[Path]:
    files = sorted((project / WORKFLOWS).glob("*.y*ml"))
    assert files, f"no CI workflow in {project / WORKFLOWS}"
    return files


def postgres_services(services: object) -> list[str]:
    """Names of the services (compose or GitHub Actions) that run a postgres image."""
    if not isinstance(services, dict):
        return []
    return [
        name
        for name, service in services.items()
        if isinstance(service, dict) and str(service.get("image", "")).startswith("postgres")
    ]


def compose_postgres(project: Path) -> list[str]:
    compose = project / "compose.yaml"
    assert compose.is_file(), "compose.yaml was not generated"
    return postgres_services(yaml.safe_load(compose.read_text()).get("services"))


def ci_postgres(project: Path) -> list[str]:
    found = []
    for workflow in workflow_files(project):
        for job in (yaml.safe_load(workflow.read_text()).get("jobs") or {}).values():
            found += postgres_services(job.get("services"))
    return found


# ---------------------------------------------------------------------------
# Defaults
# ---------------------------------------------------------------------------


def test_answers_file_records_the_answers(default_project: Path) -> None:
    assert read_answers(default_project) == DEFAULTS


def test_pyproject_is_rendered(default_project: Path) -> None:
    pyproject = tomllib.loads((default_project / "pyproject.toml").read_text())
    assert pyproject["project"]["name"] == "my-service"
    assert pyproject["project"]["requires-python"] == ">=3.13"
    assert pyproject["tool"]["fastapi"]["entrypoint"] == "my_service.main:app"


def test_package_is_under_src(default_project: Path) -> None:
    package = default_project / "src" / "my_service"
    assert (package / "__init__.py").is_file()
    assert (package / "main.py").is_file()
    assert not (default_project / "src" / "{{package_name}}").exists()


@pytest.mark.parametrize("python_version", PYTHON_VERSIONS)
def test_python_version_is_applied(template: Path, tmp_path: Path, python_version: str) -> None:
    project = generate(template, tmp_path / "p", {"python_version": python_version})
    assert (project / ".python-version").read_text().strip() == python_version
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    assert pyproject["project"]["requires-python"] == f">={python_version}"
    assert pyproject["tool"]["ruff"]["target-version"] == "py" + python_version.replace(".", "")
    assert pyproject["tool"]["mypy"]["python_version"] == python_version


def test_custom_answers_are_used_everywhere(template: Path, tmp_path: Path) -> None:
    project = generate(template, tmp_path / "acme", CUSTOM)
    answers = read_answers(project)
    # Derived defaults follow the project name.
    assert answers["project_slug"] == "acme-orders"
    assert answers["package_name"] == "acme_orders"
    assert (project / "src" / "acme_orders" / "main.py").is_file()
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    assert pyproject["project"]["name"] == "acme-orders"
    assert pyproject["project"]["description"] == CUSTOM["description"]
    assert pyproject["project"]["authors"] == [
        {"name": CUSTOM["author_name"], "email": CUSTOM["author_email"]}
    ]
    assert pyproject["tool"]["fastapi"]["entrypoint"] == "acme_orders.main:app"
    assert "Acme Orders" in (project / "README.md").read_text()
    leftovers = [
        str(rel(project, path))
        for path in project_files(project)
        if re.search(r"my[_-]service", path.read_text(errors="ignore") + str(path))
    ]
    assert not leftovers, f"files still name the default project: {leftovers}"


# ---------------------------------------------------------------------------
# Every generated file
# ---------------------------------------------------------------------------

ANSWER_SETS = [
    pytest.param({}, id="defaults"),
    pytest.param({"database": "postgresql"}, id="postgresql"),
    pytest.param({"python_version": "3.11"}, id="python3.11"),
    pytest.param({"auth": "false"}, id="noauth"),
    pytest.param({"observability": "true"}, id="observability"),
    pytest.param({"worker": "true", "cache": "true"}, id="worker-cache"),
]


@pytest.fixture(params=ANSWER_SETS, scope="module")
def any_project(
    request: pytest.FixtureRequest, template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    return generate(template, tmp_path_factory.mktemp("any") / "svc", request.param)


def test_no_unrendered_jinja(any_project: Path) -> None:
    files = project_files(any_project)
    assert len(files) > 20, f"suspiciously few files generated: {files}"
    problems = []
    for path in files:
        relative = rel(any_project, path)
        if re.search(r"\{\{|\{%|\{#|\}\}|%\}", str(relative)):
            problems.append(f"{relative}: unrendered name")
        if relative.name.endswith(".jinja"):
            problems.append(f"{relative}: template suffix left on the name")
        text = path.read_bytes().decode("utf-8", errors="replace")
        # In GitHub workflows `${{ ... }}` is GitHub's own expression syntax.
        in_workflow = WORKFLOWS in relative.parents
        pattern = r"(?<!\$)\{\{|\{%|\{#" if in_workflow else r"\{\{|\{%|\{#"
        for number, line in enumerate(text.splitlines(), 1):
            if re.search(pattern, line):
                problems.append(f"{relative}:{number}: {line.strip()}")
    assert not problems, "unrendered Jinja:\n" + "\n".join(problems)


def test_generated_files_are_those_the_template_paths_give(
    any_project: Path, template: Path
) -> None:
    """Exactly the files whose `{% if <option> %}` gates the answers open, no other."""
    answers = read_answers(any_project)
    expected = generated_files(template, answers)
    generated = {rel(any_project, path) for path in project_files(any_project)}
    missing = sorted(map(str, expected - generated))
    unexpected = sorted(map(str, generated - expected))
    assert not missing and not unexpected, (
        f"with {answers}:\n  missing (their gates are open): {missing}\n"
        f"  unexpected (no template path gives them): {unexpected}"
    )


def option_files(template: Path, answers: dict[str, str]) -> set[PurePosixPath]:
    """The files `answers` add to a default project, read from the template's paths."""
    files = files_brought_by(template, answers)
    assert files, f"no template path is gated by {answers}"
    return files


def test_file_names_are_portable(any_project: Path) -> None:
    paths = [rel(any_project, path) for path in any_project.rglob("*")]
    bad = [str(p) for p in paths if not all(PORTABLE_NAME.fullmatch(part) for part in p.parts)]
    assert not bad, f"non-portable file names (allowed: [A-Za-z0-9._-]): {bad}"
    by_lower = defaultdict(list)
    for path in paths:
        by_lower[str(path).lower()].append(str(path))
    collisions = [names for names in by_lower.values() if len(names) > 1]
    assert not collisions, f"names that collide on a case-insensitive file system: {collisions}"


def test_every_yaml_file_parses(any_project: Path) -> None:
    files = [p for p in project_files(any_project) if p.suffix in {".yml", ".yaml"}]
    names = {str(rel(any_project, p)) for p in files}
    assert {".copier-answers.yml", "compose.yaml"} <= names, names
    assert any(name.startswith(".github/workflows/") for name in names), names
    for path in files:
        try:
            list(yaml.safe_load_all(path.read_text()))
        except yaml.YAMLError as exc:
            pytest.fail(f"{rel(any_project, path)} is not valid YAML: {exc}", pytrace=False)


def test_toml_and_json_files_parse(any_project: Path) -> None:
    for path in project_files(any_project):
        if path.suffix == ".toml":
            tomllib.loads(path.read_text())
        elif path.suffix == ".json":
            json.loads(path.read_text())


# ---------------------------------------------------------------------------
# Files for AI assistants
# ---------------------------------------------------------------------------


class StrictLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing a key given twice (which it would silently keep)."""


def _mapping_without_duplicates(
    loader: StrictLoader, node: yaml.MappingNode
) -> dict[object, object]:
    keys = [loader.construct_object(key) for key, _ in node.value]
    duplicates = sorted({str(key) for key in keys if keys.count(key) > 1})
    if duplicates:
        raise yaml.constructor.ConstructorError(
            None, None, f"duplicate keys {duplicates}", node.start_mark
        )
    return loader.construct_mapping(node)


StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates
)

FRONTMATTER = re.compile(r"---\n(?P<front>.*?)\n---\n(?P<body>.*)", re.DOTALL)


def test_agent_frontmatter_is_strict_yaml(default_project: Path) -> None:
    agent = default_project / ".claude" / "agents" / "python-backend-engineer.md"
    assert agent.is_file(), f"{agent} was not generated"
    raw = agent.read_bytes()
    assert b"\r" not in raw, "CRLF line endings: Claude Code skips such agents"
    match = FRONTMATTER.fullmatch(raw.decode())
    assert match, f"{agent} does not start with a --- frontmatter block"
    try:
        front = yaml.load(match["front"], Loader=StrictLoader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        pytest.fail(f"the frontmatter of {agent.name} is not valid YAML: {exc}", pytrace=False)
    assert set(front) == {"name", "description", "model", "color"}, front
    assert all(isinstance(value, str) and value for value in front.values()), front
    # One line: Claude Code ignores a description folded over several lines.
    assert "\n" not in match["front"].split("description: ", 1)[1].split("\nmodel:")[0]


def test_agent_says_what_the_seed_agent_says(default_project: Path) -> None:
    """Same name, description, model, colour and body, word for word, as the seed (whose
    frontmatter is read line by line: it is not valid YAML)."""
    agent = default_project / ".claude" / "agents" / "python-backend-engineer.md"
    seed = SEED_DIR / "python-backend-engineer.md"
    if not seed.is_file():
        pytest.skip(f"reference copy {seed} is not present beside the repository")
    seed_match = FRONTMATTER.fullmatch(seed.read_text())
    assert seed_match, f"{seed} does not start with a --- frontmatter block"
    seed_front = dict(line.split(": ", 1) for line in seed_match["front"].splitlines())
    match = FRONTMATTER.fullmatch(agent.read_text())
    assert match
    front = yaml.load(match["front"], Loader=StrictLoader)  # noqa: S506 - a safe loader
    assert front == seed_front
    assert match["body"] == seed_match["body"]


def _strings(value: object, path: str = "") -> list[tuple[str, str]]:
    """(json path, string) for every string in a JSON document, keys excluded."""
    if isinstance(value, dict):
        return [item for k, v in value.items() for item in _strings(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [item for i, v in enumerate(value) for item in _strings(v, f"{path}[{i}]")]
    return [(path, value)] if isinstance(value, str) else []


def test_mcp_config_references_keys_without_holding_them(default_project: Path) -> None:
    config = json.loads((default_project / ".mcp.json").read_text())
    servers = config.get("mcpServers")
    assert isinstance(servers, dict), f".mcp.json has no mcpServers mapping: {config}"
    assert {"context7", "ref"} <= set(servers), f"servers configured: {sorted(servers)}"
    secrets = []
    references = 0
    for json_path, value in _strings(config):
        references += value.count("${")
        without_refs = re.sub(r"\$\{[^}]*\}", "", value)
        # Values of env/headers entries, and key-like URL parameters, must be references.
        is_secret_slot = re.search(r"\.(env|headers)\.", json_path) is not None
        if is_secret_slot and without_refs.strip() and "${" not in value:
            secrets.append(f"{json_path} = {value!r}")
        for name, param in parse_qsl(urlsplit(value).query):
            if re.search(r"key|token|secret", name, re.I) and "${" not in param:
                secrets.append(f"{json_path}: URL parameter {name}={param!r}")
        if re.search(r"[A-Za-z0-9_-]{24,}|ctx7sk|\bsk-|\bref-[0-9a-f]", without_refs):
            secrets.append(f"{json_path} = {value!r} looks like a literal key")
    assert not secrets, "literal secrets in .mcp.json:\n" + "\n".join(secrets)
    assert references, ".mcp.json references no ${...} variable for the API keys"


def expand_like_claude_code(value: str, env: dict[str, str]) -> tuple[str, list[str]]:
    """Claude Code's expansion of `${VAR}` and `${VAR:-default}` in .mcp.json: the value,
    and the variables it found neither set nor defaulted (which it reports as errors)."""
    missing: list[str] = []

    def expand(match: re.Match[str]) -> str:
        name, has_default, default = match["content"].partition(":-")
        if name in env:
            return env[name]
        if has_default:
            return default
        missing.append(name)
        return match[0]

    return re.sub(r"\$\{(?P<content>[^}]+)\}", expand, value), missing


def test_mcp_config_loads_with_no_key_set(default_project: Path) -> None:
    """Every reference has a default, so an unset key leaves nothing unresolved; with a
    key set, its value is what is sent."""
    config = json.loads((default_project / ".mcp.json").read_text())
    references = [v for _, v in _strings(config) if "${" in v]
    assert references
    for value in references:
        expanded, missing = expand_like_claude_code(value, {})
        assert not missing, f"{value!r}: {missing} unset and without a default"
        assert "${" not in expanded
    keys = {name: f"key-of-{name}" for name in ("CONTEXT7_API_KEY", "REF_API_KEY")}
    sent = {expand_like_claude_code(value, keys)[0] for value in references}
    assert sent == set(keys.values()), sent


def test_readme_says_which_server_needs_which_key(default_project: Path) -> None:
    config = json.loads((default_project / ".mcp.json").read_text())
    readme = (default_project / "README.md").read_text()
    for server, settings in config["mcpServers"].items():
        variables = re.findall(r"\$\{(\w+)", json.dumps(settings))
        assert variables, server
        rows = [line for line in readme.splitlines() if line.startswith(f"| {server} |")]
        assert len(rows) == 1, f"README has no table row for the {server} server"
        for variable in variables:
            assert f"`{variable}`" in rows[0], (server, variable, rows[0])


def test_claude_md_names_the_package_and_the_test_command(template: Path, tmp_path: Path) -> None:
    project = generate(template, tmp_path / "acme", CUSTOM)
    claude = (project / "CLAUDE.md").read_text()
    assert "acme_orders" in claude
    assert "uv run pytest" in claude


# ---------------------------------------------------------------------------
# Database choice
# ---------------------------------------------------------------------------


def test_sqlite_project_has_no_postgres(default_project: Path) -> None:
    dependencies = dependency_names(default_project)
    assert "aiosqlite" in dependencies
    assert "asyncpg" not in dependencies
    assert not compose_postgres(default_project)
    assert not ci_postgres(default_project)
    assert not (default_project / "deploy" / "postgres").exists()
    compose = yaml.safe_load((default_project / "compose.yaml").read_text())
    assert "MIGRATION_DATABASE_URL" not in compose["services"]["migrate"].get("environment", {})


def test_postgresql_project_uses_asyncpg_and_a_postgres_service(
    template: Path, tmp_path: Path
) -> None:
    project = generate(template, tmp_path / "pg", {"database": "postgresql"})
    dependencies = dependency_names(project)
    assert "asyncpg" in dependencies
    assert "aiosqlite" not in dependencies
    assert compose_postgres(project), "compose.yaml has no postgres service"
    assert ci_postgres(project), "the CI workflow has no postgres service"


def test_postgresql_compose_migrates_as_the_owner_and_serves_as_the_service_role(
    template: Path, tmp_path: Path
) -> None:
    """`migrate` alone has the owner's URL; every service connects as the service's role; both
    roles, with those passwords, come from the init script that `db` mounts."""
    project = generate(template, tmp_path / "pg", {"database": "postgresql", "worker": "true"})
    services = yaml.safe_load((project / "compose.yaml").read_text())["services"]
    [mount] = [v for v in services["db"]["volumes"] if "/docker-entrypoint-initdb.d/" in v]
    script = (project / mount.split(":")[0]).read_text()
    roles = dict(re.findall(r"^CREATE ROLE (\w+) LOGIN PASSWORD '([^']*)';$", script, re.M))

    owner = urlsplit(services["migrate"]["environment"]["MIGRATION_DATABASE_URL"])
    assert (owner.username, owner.password) == ("my_service_owner", roles["my_service_owner"])
    for name in ("migrate", "app", "worker", "scheduler"):
        environment = services[name]["environment"]
        service = urlsplit(environment["DATABASE_URL"])
        assert (service.username, service.password) == ("my_service_app", roles["my_service_app"])
        assert environment["ENVIRONMENT"] == "production", name
        assert ("MIGRATION_DATABASE_URL" in environment) == (name == "migrate"), name
    assert "OWNER TO my_service_owner" in script


# ---------------------------------------------------------------------------
# Authentication (`auth`)
# ---------------------------------------------------------------------------

AUTH_DEPENDENCIES = {"pwdlib", "pyjwt", "limits", "python-multipart"}


def test_auth_project_has_users_auth_and_their_migration(default_project: Path) -> None:
    package = default_project / "src" / "my_service"
    assert AUTH_DEPENDENCIES <= dependency_names(default_project)
    for domain in ("users", "auth"):
        assert (package / domain / "router.py").is_file(), domain
        assert (default_project / "tests" / domain).is_dir(), domain
    assert (default_project / "tests" / "fixtures" / "auth.py").is_file()
    assert (package / "users" / "create_superuser.py").is_file()
    assert list((default_project / "migrations" / "versions").glob("*_create_users_and_tokens.py"))
    assert "AUTH_SECRET_KEY" in (default_project / ".env.example").read_text()
    assert "create_superuser" in (default_project / "README.md").read_text()


def migration_heads(project: Path) -> set[str]:
    """The revisions no other revision follows, read from the files' own declarations."""
    revisions, parents = set(), set()
    for path in (project / "migrations" / "versions").glob("*.py"):
        text = path.read_text()
        revision = re.search(r'^revision: str = "(\w+)"', text, re.MULTILINE)
        down = re.search(r"^down_revision: [^=]+= (.+)$", text, re.MULTILINE)
        assert revision and down, path
        revisions.add(revision[1])
        parents.update(re.findall(r'"(\w+)"', down[1]))
    assert parents <= revisions, f"unknown down_revision in {sorted(parents - revisions)}"
    return revisions - parents


@pytest.mark.parametrize(
    "answers",
    [{}, {"worker": "true"}, {"auth": "false"}, {"auth": "false", "worker": "true"}],
    ids=["auth", "auth-worker", "noauth", "noauth-worker"],
)
def test_migrations_have_one_head_whatever_the_options(
    template: Path, tmp_path: Path, answers: dict[str, str]
) -> None:
    """Revisions never change their parent with the options: auth's security stamp and
    the worker's processed_at both follow the users revision, and a merge revision, in
    projects with both, joins them."""
    project = generate(template, tmp_path / "heads", answers)

    assert len(migration_heads(project)) == 1, migration_heads(project)
    merge = list((project / "migrations" / "versions").glob("*_merge_*.py"))
    assert len(merge) == (answers == {"worker": "true"})


def test_the_image_and_compose_trust_no_proxy(default_project: Path) -> None:
    """uvicorn would believe X-Forwarded-For from 127.0.0.1 and ::1 by default."""
    dockerfile = (default_project / "Dockerfile").read_text()
    assert re.search(r'^ENV FORWARDED_ALLOW_IPS=""$', dockerfile, re.MULTILINE), dockerfile
    compose = yaml.safe_load((default_project / "compose.yaml").read_text())
    assert compose["services"]["app"]["environment"]["FORWARDED_ALLOW_IPS"] == ""
    assert "FORWARDED_ALLOW_IPS" in (default_project / ".env.example").read_text()


def test_auth_projects_run_in_development_after_the_quick_start(
    default_project: Path, template: Path, tmp_path: Path
) -> None:
    """`cp .env.example .env` sets ENVIRONMENT=development, which the server needs to
    sign tokens with the development key; without auth nothing needs it."""
    assert "cp .env.example .env" in (default_project / "README.md").read_text()
    active = re.findall(r"^[A-Z_]+=.*$", (default_project / ".env.example").read_text(), re.M)
    assert active == ["ENVIRONMENT=development"]
    project = generate(template, tmp_path / "noauth", {"auth": "false"})
    assert not re.findall(r"^[A-Z_]+=", (project / ".env.example").read_text(), re.MULTILINE)


def test_project_without_auth_has_none_of_it(template: Path, tmp_path: Path) -> None:
    project = generate(template, tmp_path / "noauth", {"auth": "false"})
    package = project / "src" / "my_service"

    assert read_answers(project)["auth"] is False
    assert not AUTH_DEPENDENCIES & dependency_names(project)
    for path in (package / "users", package / "auth", project / "tests" / "users"):
        assert not path.exists(), path
    assert not (project / "tests" / "auth").exists()
    auth_files = files_brought_by(template, {"auth": "true"}, base={"auth": "false"})
    assert auth_files, "no template path is gated by auth"
    for name in auth_files:
        assert not (project / name).exists(), name
    assert [path.name for path in (project / "migrations" / "versions").glob("*.py")] == [
        "2026_11_26_1200-3f9a1c2b7d10_create_items.py"
    ]
    for path in project_files(project):
        text = path.read_text(errors="ignore")
        assert not re.search(r"owner_id|AUTH_SECRET|CurrentUser", text), path


# ---------------------------------------------------------------------------
# Observability (`observability`)
# ---------------------------------------------------------------------------

OBSERVABILITY_DEPENDENCIES = {
    "opentelemetry-api",
    "opentelemetry-sdk",
    "opentelemetry-exporter-otlp-proto-http",
    "opentelemetry-instrumentation-httpx",
    "opentelemetry-instrumentation-sqlalchemy",
    "prometheus-client",
}


def test_observability_project_has_tracing_metrics_and_their_settings(
    template: Path, tmp_path: Path
) -> None:
    project = generate(template, tmp_path / "obs", {"observability": "true"})

    assert read_answers(project)["observability"] is True
    assert OBSERVABILITY_DEPENDENCIES <= dependency_names(project)
    for name in option_files(template, {"observability": "true"}):
        assert (project / name).is_file(), name
    assert "ObservabilityFeature()" in (project / "src" / "my_service" / "app.py").read_text()
    feature = (project / "src" / "my_service" / "observability" / "feature.py").read_text()
    assert "telemetry_config(self._tracer_provider)" in feature
    assert "add_metrics(app)" in feature
    assert "add_trace_ids" in (project / "src" / "my_service" / "core" / "logs.py").read_text()
    env_example = (project / ".env.example").read_text()
    assert "OTEL_EXPORTER_OTLP_ENDPOINT" in env_example
    assert "METRICS_ENABLED" in env_example
    assert "## Observability" in (project / "README.md").read_text()


def test_project_without_observability_has_none_of_it(
    default_project: Path, template: Path
) -> None:
    assert read_answers(default_project)["observability"] is False
    assert not OBSERVABILITY_DEPENDENCIES & dependency_names(default_project)
    for name in option_files(template, {"observability": "true"}):
        assert not (default_project / name).exists(), name
    for path in project_files(default_project):
        text = path.read_text(errors="ignore")
        assert not re.search(r"opentelemetry|prometheus|OTEL_|/metrics|trace_id", text), path


# ---------------------------------------------------------------------------
# Redis: background tasks (`worker`) and the item cache (`cache`)
# ---------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("answers", "dependencies"),
    [
        pytest.param({"worker": "true"}, {"redis", "taskiq", "taskiq-redis"}, id="worker"),
        pytest.param({"cache": "true"}, {"redis"}, id="cache"),
    ],
)
def test_redis_options_bring_their_files_services_and_settings(
    template: Path, tmp_path: Path, answers: dict[str, str], dependencies: set[str]
) -> None:
    project = generate(template, tmp_path / "redis", answers)

    assert dependencies <= dependency_names(project)
    for name in option_files(template, answers):
        assert (project / name).is_file(), name
    compose = yaml.safe_load((project / "compose.yaml").read_text())
    assert "redis" in compose["services"]
    assert compose["services"]["app"]["environment"]["REDIS_URL"].startswith("redis://redis:")
    ci = yaml.safe_load((project / ".github" / "workflows" / "ci.yml").read_text())
    assert "redis" in ci["jobs"]["check"]["services"]
    assert "REDIS_URL" in (project / ".env.example").read_text()
    readme = (project / "README.md").read_text()
    assert "## Scaling out" in readme
    if "worker" in answers:
        assert {"worker", "scheduler"} <= compose["services"].keys()
        assert "taskiq worker" in readme
        assert "taskiq worker" in (project / "CLAUDE.md").read_text()


def test_project_without_redis_options_has_none_of_it(
    default_project: Path, template: Path
) -> None:
    assert read_answers(default_project)["worker"] is False
    assert read_answers(default_project)["cache"] is False
    assert not {"redis", "taskiq", "taskiq-redis"} & dependency_names(default_project)
    for name in option_files(template, {"worker": "true", "cache": "true"}):
        assert not (default_project / name).exists(), name
    for path in project_files(default_project):
        text = path.read_text(errors="ignore")
        assert not re.search(r"(?i)redis|taskiq|processed_at|after_commit", text), path


# ---------------------------------------------------------------------------
# The command line, as users run it
# ---------------------------------------------------------------------------


def test_cli_copy_without_trust(template: Path, tmp_path: Path) -> None:
    dst = tmp_path / "cli-service"
    copier_cli("copy", "--defaults", "-d", "project_name=CLI Service", template, dst, cwd=tmp_path)
    assert read_answers(dst)["package_name"] == "cli_service"
    assert (dst / "src" / "cli_service" / "main.py").is_file()


def test_cli_copy_from_the_repository(tmp_path: Path) -> None:
    """The README's command: copier on the repository itself (git: HEAD plus the
    uncommitted changes, which copier includes for a local HEAD)."""
    dst = tmp_path / "my-service"
    result = copier_cli("copy", "--defaults", "--vcs-ref=HEAD", ROOT, dst, cwd=tmp_path)
    assert (dst / "src" / "my_service" / "main.py").is_file(), result.stdout
    assert read_answers(dst)["project_slug"] == "my-service"

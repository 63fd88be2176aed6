"""The Kubernetes manifests of a generated project (deploy/kubernetes/), checked offline.

For each answer set of the generated-project matrix (tests/test_generated_project.py), the
project is generated (not synced), `kubectl kustomize` renders each overlay, and every
object it renders validates against the schemas of the newest Kubernetes release that
kubernetes-validate ships, strictly (an unknown field is an error). Then the policy:

- the API runs the image's own command (the Dockerfile's CMD, which README.md and CLAUDE.md
  give as the production server), one process per pod, with probes on /health/live and
  /health/ready, a preStop pause and a grace period that outlasts the pause, the server's
  graceful-shutdown timeout and the app's shutdown;
- every pod runs as the image's numeric user, locked down, every container with requests
  and limits;
- no secret value anywhere: no Secret object, every secret-looking variable from a Secret's
  key, and the keys are those the app's settings hold as secrets and README.md's
  `kubectl create secret` commands give;
- migrations run as the first init container of each pod that runs the app's code;
- exactly one scheduler with `worker`; Redis named only with `worker` or `cache`, OTLP only
  with `observability`;
- PostgreSQL: an autoscaler, at least two API pods in production; SQLite: one pod,
  replaced (Recreate), on a volume, never blocking a node drain;
- network policies: nothing reaches the pods but the ingress controller, to the API.

The default project and the all-options PostgreSQL one are the fast subset; the rest is
slow. Without kubectl the tests skip, or fail where the full matrix is required.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import re
import shlex
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from support import generate, missing_prerequisite, read_answers, run
from test_generated_project import MATRIX

FAST = {"sqlite-py3.13", "postgresql-all-options-py3.13"}
"""The answer sets in the default (not slow) subset: the most common project, and the
one whose manifests hold the most (an autoscaler, workers, a scheduler, OTLP, Redis)."""

ANSWER_SETS = [
    pytest.param(param.values[0], id=param.id, marks=() if param.id in FAST else pytest.mark.slow)
    for param in MATRIX
]

KUBERNETES_VERSION = kubernetes_validate.latest_version()
"""The newest release whose schemas kubernetes-validate ships (its version follows it)."""

OVERLAYS = ("dev", "production")
DNS_LABEL = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
"""RFC 1035 label (Service names must be one; every name here is, whatever the slug)."""
LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
SECRET_NAME = re.compile(r"URL|SECRET|PASSWORD|PASSWD|TOKEN|KEY|CREDENTIAL", re.IGNORECASE)
"""Environment variables that hold, or may hold, a secret."""
SECRET_SETTING = re.compile(r"^    ([a-z_]\w*): SecretStr(?: \| None)? =", re.MULTILINE)
"""A settings class's field that holds a secret (its environment variable in upper case)."""
IMAGE_USER = re.compile(r"^USER (\d+):(\d+)\s*$", re.MULTILINE)
SHUTDOWN_MARGIN = 10
"""Seconds the grace period must leave after the server's graceful timeout, for the app's
own shutdown (the database pool; with tracing, the last batch of spans, which the
exporter gives OTEL_EXPORTER_OTLP_TIMEOUT, 10 s by default)."""

Object = dict[str, Any]


@functools.cache
def kubectl() -> str:
    found = shutil.which("kubectl")
    if found is None:
        missing_prerequisite(
            "kubectl not found: install it (https://kubernetes.io/docs/tasks/tools/) to "
            "render the Kubernetes manifests (`kubectl kustomize`)"
        )
    assert found is not None
    return found


@dataclass
class Manifests:
    """A generated project and its overlays, rendered."""

    path: Path
    answers: dict[str, object]
    overlays: dict[str, list[Object]]

    @property
    def slug(self) -> str:
        return str(self.answers["project_slug"])

    @property
    def package(self) -> str:
        return str(self.answers["package_name"])

    @property
    def postgresql(self) -> bool:
        return self.answers["database"] == "postgresql"

    def option(self, name: str) -> bool:
        return self.answers[name] is True

    def text(self, name: str) -> str:
        return (self.path / name).read_text()

    def each(self) -> Iterator[tuple[str, list[Object]]]:
        yield from self.overlays.items()


@pytest.fixture(params=ANSWER_SETS, scope="module")
def manifests(
    request: pytest.FixtureRequest, template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Manifests:
    path = generate(template, tmp_path_factory.mktemp("kubernetes") / "svc", request.param)
    overlays_dir = path / "deploy" / "kubernetes" / "overlays"
    found = sorted(p.name for p in overlays_dir.iterdir() if p.is_dir())
    assert found == sorted(OVERLAYS), f"overlays: {found}"
    overlays = {}
    for name in OVERLAYS:
        rendered = run([kubectl(), "kustomize", overlays_dir / name], cwd=path).stdout
        overlays[name] = [doc for doc in yaml.safe_load_all(rendered) if doc]
    return Manifests(path=path, answers=read_answers(path), overlays=overlays)


# ---------------------------------------------------------------------------
# Reading the objects
# ---------------------------------------------------------------------------


def of_kind(objects: list[Object], kind: str) -> list[Object]:
    return [obj for obj in objects if obj["kind"] == kind]


def named(objects: list[Object], kind: str, name: str) -> Object:
    found = [obj for obj in of_kind(objects, kind) if obj["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind} {name}: {len(found)} found"
    return found[0]


def pod_templates(objects: list[Object]) -> list[tuple[Object, Object]]:
    """(workload, its pod template) of each object that makes pods."""
    return [
        (obj, obj["spec"]["template"])
        for obj in objects
        if "template" in obj.get("spec", {}) and "spec" in obj["spec"]["template"]
    ]


def containers(pod: Object, *, init: bool = True) -> list[Object]:
    spec = pod["spec"]
    return [*(spec.get("initContainers", []) if init else []), *spec["containers"]]


def all_containers(objects: list[Object]) -> Iterator[tuple[str, Object]]:
    for workload, pod in pod_templates(objects):
        for container in containers(pod):
            yield f"{workload['metadata']['name']}/{container['name']}", container


def selects(selector: Object, labels: dict[str, str]) -> bool:
    """Whether a matchLabels selector (the only kind these manifests use) selects `labels`."""
    assert set(selector) <= {"matchLabels"}, selector
    return all(labels.get(key) == value for key, value in selector.get("matchLabels", {}).items())


def api(objects: list[Object], slug: str) -> tuple[Object, Object]:
    """The API's Deployment and its container (the one that runs the image's command)."""
    deployment = named(objects, "Deployment", f"{slug}-api")
    [container] = [c for c in containers(deployment["spec"]["template"]) if c["name"] == "api"]
    return deployment, container


def env_names(container: Object) -> set[str]:
    return {entry["name"] for entry in container.get("env", [])}


# ---------------------------------------------------------------------------
# What the project says elsewhere
# ---------------------------------------------------------------------------


def image_command(manifests: Manifests) -> list[str]:
    """The Dockerfile's CMD (exec form)."""
    [cmd] = re.findall(r"^CMD (\[.*\])\s*$", manifests.text("Dockerfile"), re.MULTILINE)
    command: list[str] = json.loads(cmd)
    return command


def option_value(command: list[str], option: str) -> str:
    assert option in command, f"{option} missing from {command}"
    return command[command.index(option) + 1]


def documented_commands(text: str, prefix: str) -> list[list[str]]:
    """The shell commands in `text` that start with `prefix`, continuations joined."""
    joined = text.replace("\\\n", " ")
    return [
        shlex.split(line.strip(), comments=True)
        for line in joined.splitlines()
        if line.strip().startswith(prefix)
    ]


def kubernetes_section(manifests: Manifests) -> str:
    readme = manifests.text("README.md")
    parts = readme.split("\n## Deploying to Kubernetes\n", 1)
    assert len(parts) == 2, "README.md has no 'Deploying to Kubernetes' section"
    return parts[1].split("\n## ", 1)[0]


def documented_secrets(manifests: Manifests) -> dict[str, set[str]]:
    """Secret name -> the keys README.md's `kubectl create secret generic` gives it."""
    secrets: dict[str, set[str]] = {}
    for command in documented_commands(
        kubernetes_section(manifests), "kubectl create secret generic"
    ):
        name = command[4]
        keys = {
            arg.removeprefix("--from-literal=").split("=", 1)[0]
            for arg in command
            if arg.startswith("--from-literal=")
        }
        assert name not in secrets, f"Secret {name} created twice"
        secrets[name] = keys
    return secrets


def secret_settings(manifests: Manifests) -> set[str]:
    """The environment variables of the app's secret settings (its `SecretStr` fields)."""
    names = set()
    for path in (manifests.path / "src").rglob("*.py"):
        names |= {name.upper() for name in SECRET_SETTING.findall(path.read_text())}
    assert "DATABASE_URL" in names, names
    return names


def compose_command(manifests: Manifests, service: str) -> list[str]:
    compose = yaml.safe_load(manifests.text("compose.yaml"))
    command: list[str] = compose["services"][service]["command"]
    return command


# ---------------------------------------------------------------------------
# Rendering and schemas
# ---------------------------------------------------------------------------


def test_every_overlay_renders_and_validates(manifests: Manifests) -> None:
    problems = []
    for overlay, objects in manifests.each():
        kinds = {obj["kind"] for obj in objects}
        expected = {
            "ConfigMap",
            "Deployment",
            "Service",
            "Ingress",
            "PodDisruptionBudget",
            "NetworkPolicy",
        }
        expected.add("HorizontalPodAutoscaler" if manifests.postgresql else "PersistentVolumeClaim")
        assert kinds == expected, f"{overlay}: kinds {sorted(kinds)}, expected {sorted(expected)}"
        for obj in objects:
            label = f"{overlay}: {obj['kind']} {obj['metadata']['name']}"
            try:
                kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
            except kubernetes_validate.ValidationError as exc:
                path = ".".join(str(part) for part in exc.path)
                problems.append(f"{label}: {path}: {exc.message}")
            except kubernetes_validate.SchemaNotFoundError as exc:
                problems.append(f"{label}: {exc.message}")
    assert not problems, f"against Kubernetes {KUBERNETES_VERSION}:\n" + "\n".join(problems)


def test_the_schema_check_refuses_an_unknown_field() -> None:
    """Strict: a misspelt field (which the API server would drop, or refuse) is an error."""
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "c", "image": "i", "readOnlyRootFileSystem": True}]},
    }
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(pod, KUBERNETES_VERSION, strict=True)


def test_names_and_labels_fit_kubernetes_whatever_the_slug(manifests: Manifests) -> None:
    for overlay, objects in manifests.each():
        for obj in objects:
            meta = obj["metadata"]
            where = f"{overlay}: {obj['kind']} {meta['name']}"
            assert len(meta["name"]) <= 63 and DNS_LABEL.fullmatch(meta["name"]), where
            assert meta["name"].startswith(manifests.slug), where
            assert meta["namespace"] == (
                manifests.slug if overlay == "production" else f"{manifests.slug}-dev"
            ), where
            labels = dict(meta.get("labels", {}))
            for workload_pod in pod_templates([obj]):
                labels |= workload_pod[1]["metadata"]["labels"]
            assert labels.get("app.kubernetes.io/name") == manifests.slug, where
            for key, value in labels.items():
                assert len(value) <= 63 and LABEL_VALUE.fullmatch(value), (where, key, value)
        for workload, pod in pod_templates(objects):
            pod_labels = pod["metadata"]["labels"]
            assert "app.kubernetes.io/component" in pod_labels, workload["metadata"]["name"]
            assert selects(workload["spec"]["selector"], pod_labels), workload["metadata"]["name"]


# ---------------------------------------------------------------------------
# The API: the image's command, probes, shutdown
# ---------------------------------------------------------------------------


def test_the_api_runs_the_image_command_one_process_per_pod(manifests: Manifests) -> None:
    command = image_command(manifests)
    assert command[:2] == ["uvicorn", f"{manifests.package}.main:app"], command
    assert "--workers" not in command, "one server process per container"
    assert "--proxy-headers" in command, command
    for overlay, objects in manifests.each():
        _, container = api(objects, manifests.slug)
        assert "command" not in container and "args" not in container, (
            f"{overlay}: the API container must run the image's CMD, not its own command"
        )
        [port] = container["ports"]
        assert port == {"name": "http", "containerPort": int(option_value(command, "--port"))}
        assert option_value(command, "--host") == "0.0.0.0"
        assert "FORWARDED_ALLOW_IPS" in named(objects, "ConfigMap", config_name(objects))["data"]


def config_name(objects: list[Object]) -> str:
    [config] = of_kind(objects, "ConfigMap")
    return str(config["metadata"]["name"])


def test_the_documented_production_server_is_the_image_command(manifests: Manifests) -> None:
    command = image_command(manifests)
    for document in ("README.md", "CLAUDE.md"):
        documented = documented_commands(manifests.text(document), "uv run uvicorn ")
        assert documented, f"{document} gives no `uv run uvicorn` production command"
        for found in documented:
            assert found[2:] == command, f"{document}: {shlex.join(found)} is not the CMD"


def setting_default(manifests: Manifests, name: str) -> float:
    """The default of the app's numeric setting `name` (a field in lower case), from its source."""
    pattern = re.compile(rf"^    {name}: float = Field\(default=([0-9.]+)\b", re.MULTILINE)
    found = {
        float(match)
        for path in (manifests.path / "src").rglob("*.py")
        for match in pattern.findall(path.read_text())
    }
    assert len(found) == 1, f"{name}: defaults {found}"
    return found.pop()


def readiness_seconds(manifests: Manifests) -> float:
    """The longest /health/ready takes with the default settings, when every check times out
    but those that degrade: the database's, then Redis' in each check that asks it."""
    checks = sum(
        len(re.findall(r"await redis_error\(", path.read_text()))
        for path in (manifests.path / "src").rglob("*.py")
    )
    assert (checks > 0) == (manifests.option("worker") or manifests.option("cache")), checks
    database = setting_default(manifests, "health_timeout_seconds")
    if not checks:
        return database
    return database + checks * setting_default(manifests, "redis_timeout_seconds")


def test_the_api_probes_and_shutdown(manifests: Manifests) -> None:
    graceful = int(option_value(image_command(manifests), "--timeout-graceful-shutdown"))
    for overlay, objects in manifests.each():
        deployment, container = api(objects, manifests.slug)
        for probe, path in [
            ("startupProbe", "/health/live"),
            ("livenessProbe", "/health/live"),
            ("readinessProbe", "/health/ready"),
        ]:
            assert container[probe]["httpGet"] == {"path": path, "port": "http"}, (overlay, probe)
        # /health/ready waits up to HEALTH_TIMEOUT_SECONDS for the database, then up to
        # REDIS_TIMEOUT_SECONDS for Redis in each check that asks it (degraded, still ready).
        timeout = container["readinessProbe"]["timeoutSeconds"]
        assert timeout > readiness_seconds(manifests), (overlay, timeout)
        pre_stop = container["lifecycle"]["preStop"]
        if "sleep" in pre_stop:
            pause = int(pre_stop["sleep"]["seconds"])
        else:
            sleep, seconds = pre_stop["exec"]["command"]
            assert sleep == "sleep", pre_stop
            pause = int(seconds)
        assert pause > 0
        grace = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
        assert grace >= pause + graceful + SHUTDOWN_MARGIN, (
            f"{overlay}: terminationGracePeriodSeconds {grace} < preStop {pause} s + "
            f"--timeout-graceful-shutdown {graceful} s + {SHUTDOWN_MARGIN} s"
        )


# ---------------------------------------------------------------------------
# Pods and containers
# ---------------------------------------------------------------------------


def test_every_pod_is_locked_down_and_every_container_sized(manifests: Manifests) -> None:
    [(uid, gid)] = IMAGE_USER.findall(manifests.text("Dockerfile"))
    problems = []
    for overlay, objects in manifests.each():
        for workload, pod in pod_templates(objects):
            where = f"{overlay}: {workload['metadata']['name']}"
            spec = pod["spec"]
            security = spec.get("securityContext", {})
            if spec.get("automountServiceAccountToken") is not False:
                problems.append(f"{where}: automountServiceAccountToken is not false")
            tmp_volumes = {v["name"] for v in spec.get("volumes", []) if "emptyDir" in v}
            for container in containers(pod):
                at = f"{where}/{container['name']}"
                context = container.get("securityContext", {})
                effective = {**security, **context}
                expected = {
                    "runAsNonRoot": True,
                    "runAsUser": int(uid),
                    "runAsGroup": int(gid),
                    "seccompProfile": {"type": "RuntimeDefault"},
                }
                for key, value in expected.items():
                    if effective.get(key) != value:
                        problems.append(f"{at}: {key} is {effective.get(key)!r}, not {value!r}")
                if context.get("allowPrivilegeEscalation") is not False:
                    problems.append(f"{at}: allowPrivilegeEscalation is not false")
                if context.get("readOnlyRootFilesystem") is not True:
                    problems.append(f"{at}: readOnlyRootFilesystem is not true")
                if context.get("capabilities", {}).get("drop") != ["ALL"]:
                    problems.append(f"{at}: capabilities.drop is not [ALL]")
                if context.get("privileged"):
                    problems.append(f"{at}: privileged")
                resources = container.get("resources", {})
                for kind in ("requests", "limits"):
                    if set(resources.get(kind, {})) != {"cpu", "memory"}:
                        problems.append(f"{at}: {kind} {resources.get(kind)}, not cpu and memory")
                mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
                if mounts.get("/tmp") not in tmp_volumes:
                    problems.append(
                        f"{at}: no emptyDir at /tmp (the root file system is read-only)"
                    )
    assert not problems, "\n".join(problems)


def test_sqlite_keeps_its_file_on_a_volume_postgresql_on_none(manifests: Manifests) -> None:
    for overlay, objects in manifests.each():
        claims = of_kind(objects, "PersistentVolumeClaim")
        deployment, _ = api(objects, manifests.slug)
        pod = deployment["spec"]["template"]
        if manifests.postgresql:
            assert not claims, overlay
            continue
        [claim] = claims
        [data] = [v for v in pod["spec"]["volumes"] if "persistentVolumeClaim" in v]
        assert data["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
        for container in containers(pod):
            mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
            assert mounts.get("/data") == data["name"], f"{overlay}: {container['name']}"
        # The image's DATABASE_URL is the file under /data; the manifests leave it.
        assert "DATABASE_URL=sqlite+aiosqlite:////data/" in manifests.text("Dockerfile")
        for where, container in all_containers(objects):
            assert "DATABASE_URL" not in env_names(container), where


# ---------------------------------------------------------------------------
# Secrets and settings
# ---------------------------------------------------------------------------


def test_no_secret_value_in_the_manifests(manifests: Manifests) -> None:
    problems = []
    for overlay, objects in manifests.each():
        if of_kind(objects, "Secret"):
            problems.append(f"{overlay}: a Secret object (its values would be in git)")
        for config in of_kind(objects, "ConfigMap"):
            secretish = sorted(key for key in config["data"] if SECRET_NAME.search(key))
            if secretish:
                problems.append(f"{overlay}: secret-looking keys in the ConfigMap: {secretish}")
        for where, container in all_containers(objects):
            for source in container.get("envFrom", []):
                if "configMapRef" not in source:
                    problems.append(f"{overlay}: {where}: envFrom {source} (only the ConfigMap)")
            for entry in container.get("env", []):
                reference = entry.get("valueFrom", {}).get("secretKeyRef")
                if SECRET_NAME.search(entry["name"]) and (
                    "value" in entry or reference is None or reference["key"] != entry["name"]
                ):
                    problems.append(f"{overlay}: {where}: {entry} is not its Secret's key")
        rendered = yaml.safe_dump_all(objects)
        if re.search(r"://[^/\s:@]*:[^/\s@]+@", rendered):
            problems.append(f"{overlay}: a URL with a password")
    assert not problems, "\n".join(problems)


def secret_references(objects: list[Object]) -> dict[str, dict[str, set[str]]]:
    """Secret name -> key -> the containers that read it (each as workload/container: the API's
    and the workers' init containers have one name)."""
    found: dict[str, dict[str, set[str]]] = {}
    for where, container in all_containers(objects):
        for entry in container.get("env", []):
            if reference := entry.get("valueFrom", {}).get("secretKeyRef"):
                readers = found.setdefault(reference["name"], {}).setdefault(
                    reference["key"], set()
                )
                readers.add(where)
    return found


def test_the_secrets_are_the_settings_and_the_readme_creates_them(manifests: Manifests) -> None:
    """Every secret setting of the app (a `SecretStr` field) comes from the Secret; only
    the migrations read the migration user's URL, from a Secret of its own."""
    slug = manifests.slug
    expected = secret_settings(manifests) - {"MIGRATION_DATABASE_URL"}
    if not manifests.postgresql:
        expected.discard("DATABASE_URL")  # The image's: the file on the volume.
    assert ("AUTH_SECRET_KEY" in expected) == manifests.option("auth")
    assert ("REDIS_URL" in expected) == (manifests.option("worker") or manifests.option("cache"))
    wanted = {slug: expected} if expected else {}
    if manifests.postgresql:
        wanted[f"{slug}-migration"] = {"MIGRATION_DATABASE_URL"}
    assert documented_secrets(manifests) == wanted
    for overlay, objects in manifests.each():
        references = secret_references(objects)
        assert {name: set(keys) for name, keys in references.items()} == wanted, overlay
        every = {where for where, _ in all_containers(objects)}
        migrations = {where for where in every if where.endswith("/migrate")}
        for key, readers in references.get(slug, {}).items():
            assert readers == every, f"{overlay}: {key} only for {sorted(readers)}"
        for key, readers in references.get(f"{slug}-migration", {}).items():
            assert readers == migrations, f"{overlay}: {key} read by {sorted(readers)}"


SETTING_FIELD = re.compile(r"^    ([a-z_][a-z0-9_]*): [^=\n]+=", re.MULTILINE)
"""A field of a class body, with its default: in a module that defines settings classes, a setting
(its environment variable in upper case)."""
SERVER_VARIABLES = {"FORWARDED_ALLOW_IPS"}
"""Variables the server (uvicorn) reads, not the app's settings."""


def setting_variables(manifests: Manifests) -> set[str]:
    """The environment variables the app's settings read: the fields of the modules that define a
    settings class."""
    names = set()
    for path in (manifests.path / "src").rglob("*.py"):
        text = path.read_text()
        if re.search(r"^class \w+Settings\(", text, re.MULTILINE):
            names |= {name.upper() for name in SETTING_FIELD.findall(text)}
    assert {"DATABASE_URL", "LOG_LEVEL", "DOCS_ENABLED"} <= names, sorted(names)
    return names


def test_every_variable_is_one_the_app_reads(manifests: Manifests) -> None:
    """A misspelt variable would be ignored, the setting left at its default, silently."""
    known = setting_variables(manifests) | SERVER_VARIABLES
    for overlay, objects in manifests.each():
        data = named(objects, "ConfigMap", config_name(objects))["data"]
        assert set(data) <= known, f"{overlay}: ConfigMap {sorted(set(data) - known)}"
        for where, container in all_containers(objects):
            assert env_names(container) <= known, f"{overlay}: {where}: {env_names(container)}"


def test_forwarded_allow_ips_is_a_network_list(manifests: Manifests) -> None:
    for overlay, objects in manifests.each():
        value = named(objects, "ConfigMap", config_name(objects))["data"]["FORWARDED_ALLOW_IPS"]
        assert value and value != "*", overlay
        for network in value.split(","):
            assert ipaddress.ip_network(network.strip()).is_private, (overlay, network)
    assert "FORWARDED_ALLOW_IPS" in kubernetes_section(manifests)


def test_redis_and_otlp_only_with_their_options(manifests: Manifests) -> None:
    redis = manifests.option("worker") or manifests.option("cache")
    observability = manifests.option("observability")
    for overlay, objects in manifests.each():
        rendered = yaml.safe_dump_all(objects)
        assert bool(re.search("(?i)redis", rendered)) == redis, overlay
        assert ("OTEL_" in rendered) == observability, overlay
        assert ("prometheus.io/scrape" in rendered) == observability, overlay
        data = named(objects, "ConfigMap", config_name(objects))["data"]
        if observability:
            assert data["OTEL_SERVICE_NAME"] == manifests.slug
            assert re.fullmatch(r"http://[a-z0-9.-]+:4318", data["OTEL_EXPORTER_OTLP_ENDPOINT"])
        for where, container in all_containers(objects):
            assert ("REDIS_URL" in env_names(container)) == redis, where


# ---------------------------------------------------------------------------
# Migrations, workers, the scheduler
# ---------------------------------------------------------------------------


def test_migrations_run_before_the_app_code_in_each_pod(manifests: Manifests) -> None:
    migrate = compose_command(manifests, "migrate")
    assert migrate == ["alembic", "upgrade", "head"]
    for overlay, objects in manifests.each():
        for workload, pod in pod_templates(objects):
            runs = [
                c
                for c in pod["spec"]["containers"]
                if c.get("command", [""])[:2] != ["taskiq", "scheduler"]
            ]
            init = pod["spec"].get("initContainers", [])
            if not runs:  # The scheduler only talks to Redis.
                assert not init, workload["metadata"]["name"]
                continue
            assert init and init[0]["name"] == "migrate", (overlay, workload["metadata"]["name"])
            assert init[0]["command"] == migrate
            assert {c["image"] for c in runs} == {init[0]["image"]}
            assert env_names(init[0]) >= env_names(runs[0]), "the migration needs the settings"
    assert "alembic upgrade head" in kubernetes_section(manifests)


def taskiq_containers(objects: list[Object]) -> list[tuple[Object, Object]]:
    """(workload, container) of each main container that runs taskiq."""
    return [
        (workload, container)
        for workload, pod in pod_templates(objects)
        for container in containers(pod, init=False)
        if container.get("command", [""])[0] == "taskiq"
    ]


def test_workers_and_exactly_one_scheduler(manifests: Manifests) -> None:
    slug = manifests.slug
    for overlay, objects in manifests.each():
        taskiq = taskiq_containers(objects)
        if not manifests.option("worker"):
            assert not taskiq, overlay
            assert not [
                w for w, _ in pod_templates(objects) if "scheduler" in w["metadata"]["name"]
            ]
            continue
        schedulers = [(w, c) for w, c in taskiq if c["command"][1] == "scheduler"]
        assert len(schedulers) == 1, f"{overlay}: {len(schedulers)} schedulers"
        [(deployment, container)] = schedulers
        assert deployment["metadata"]["name"] == f"{slug}-scheduler"
        assert deployment["spec"]["replicas"] == 1
        assert deployment["spec"]["strategy"] == {"type": "Recreate"}
        assert container["command"] == compose_command(manifests, "scheduler")
        for hpa in of_kind(objects, "HorizontalPodAutoscaler"):
            assert hpa["spec"]["scaleTargetRef"]["name"] != deployment["metadata"]["name"]
        workers = [(w, c) for w, c in taskiq if c["command"][1] == "worker"]
        assert len(workers) == 1, overlay
        [(workload, worker)] = workers
        assert worker["command"] == compose_command(manifests, "worker")
        if manifests.postgresql:
            assert workload["metadata"]["name"] == f"{slug}-worker"
            assert workload["spec"]["replicas"] == (2 if overlay == "production" else 1)
        else:  # Beside the API, on the database's volume.
            assert workload["metadata"]["name"] == f"{slug}-api"


# ---------------------------------------------------------------------------
# Replicas, disruptions, the network
# ---------------------------------------------------------------------------


def test_replicas_autoscaling_and_disruptions(manifests: Manifests) -> None:
    slug = manifests.slug
    for overlay, objects in manifests.each():
        deployment, _ = api(objects, slug)
        spec = deployment["spec"]
        pod_labels = spec["template"]["metadata"]["labels"]
        hpas = of_kind(objects, "HorizontalPodAutoscaler")
        if manifests.postgresql:
            assert "replicas" not in spec, f"{overlay}: the autoscaler owns the replicas"
            assert spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
            [hpa] = hpas
            assert hpa["apiVersion"] == "autoscaling/v2"
            assert hpa["spec"]["scaleTargetRef"] == {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "name": deployment["metadata"]["name"],
            }
            [metric] = hpa["spec"]["metrics"]
            assert metric["type"] == "Resource" and metric["resource"]["name"] == "cpu"
            least = hpa["spec"]["minReplicas"]
            assert least >= 2 if overlay == "production" else least == 1, (overlay, least)
        else:
            assert not hpas, overlay
            assert spec["replicas"] == 1
            assert spec["strategy"] == {"type": "Recreate"}
            least = 1
        [budget] = of_kind(objects, "PodDisruptionBudget")
        assert selects(budget["spec"]["selector"], pod_labels)
        # The budget lets a drain evict a pod even at the fewest replicas.
        assert "minAvailable" not in budget["spec"], budget["spec"]
        assert 1 <= budget["spec"]["maxUnavailable"] <= max(1, least - 1), budget["spec"]


def public_paths(manifests: Manifests) -> list[str]:
    """What the app serves to the public, from its source: the API's prefix, and the docs."""
    app = (manifests.path / "src" / manifests.package / "app.py").read_text()
    [prefix] = re.findall(r'^API_PREFIX = "(/[^"]+)"$', app, re.MULTILINE)
    docs = re.findall(r'\b(?:openapi|docs|redoc)_url="(/[^"]+)"', app)
    assert len(docs) == 3, docs
    return [f"{prefix}/items", *docs]


def routes(path: Object, request_path: str) -> bool:
    """Whether an Ingress path sends `request_path` to its backend (Prefix: by whole elements)."""
    if path["pathType"] == "Exact":
        return bool(path["path"] == request_path)
    prefix = str(path["path"]).rstrip("/")
    return request_path == prefix or request_path.startswith(prefix + "/")


def test_only_the_ingress_controller_reaches_the_api(manifests: Manifests) -> None:
    slug = manifests.slug
    for overlay, objects in manifests.each():
        policies = of_kind(objects, "NetworkPolicy")
        pods = {
            w["metadata"]["name"]: pod["metadata"]["labels"] for w, pod in pod_templates(objects)
        }
        deny = [
            p
            for p in policies
            if p["spec"]["policyTypes"] == ["Ingress"] and not p["spec"].get("ingress")
        ]
        assert deny, f"{overlay}: no default-deny policy"
        for name, labels in pods.items():
            assert any(selects(p["spec"]["podSelector"], labels) for p in deny), (overlay, name)
        api_labels = pods[f"{slug}-api"]
        allowing = [p for p in policies if p["spec"].get("ingress")]
        assert allowing, overlay
        for policy in allowing:
            for name, labels in pods.items():
                assert selects(policy["spec"]["podSelector"], labels) == (labels == api_labels), (
                    f"{overlay}: {policy['metadata']['name']} and {name}"
                )
            for rule in policy["spec"]["ingress"]:
                assert rule["from"] and all(
                    set(peer) == {"namespaceSelector"} for peer in rule["from"]
                )
                assert rule["ports"] == [{"port": "http", "protocol": "TCP"}]
        names = {p["metadata"]["name"] for p in allowing}
        assert (f"{slug}-api-metrics" in names) == manifests.option("observability")
        [ingress] = of_kind(objects, "Ingress")
        service = named(objects, "Service", f"{slug}-api")
        assert selects({"matchLabels": service["spec"]["selector"]}, api_labels)
        [rule] = ingress["spec"]["rules"]
        assert rule["host"].startswith(slug)
        for public in public_paths(manifests):
            assert any(routes(path, public) for path in rule["http"]["paths"]), (
                f"{overlay}: the ingress does not route {public}"
            )
        for path in rule["http"]["paths"]:
            assert path["backend"] == {"service": {"name": f"{slug}-api", "port": {"name": "http"}}}
            for private in ("/health/live", "/health/ready", "/metrics"):
                assert not private.startswith(path["path"]), (
                    f"{overlay}: {path['path']} routes {private}"
                )
        assert ("tls" in ingress["spec"]) == (overlay == "production")


# ---------------------------------------------------------------------------
# The images, as README.md builds them
# ---------------------------------------------------------------------------


def test_the_images_are_those_the_readme_builds(manifests: Manifests) -> None:
    slug = manifests.slug
    section = kubernetes_section(manifests)
    builds = [command[3] for command in documented_commands(section, "docker build -t ")]
    assert builds, "the Kubernetes section builds no image"
    assert f"docker build -t {slug}:dev ." in section
    assert f"docker build -t {slug} ." in manifests.text("Dockerfile")
    for overlay, objects in manifests.each():
        images = {container["image"] for _, container in all_containers(objects)}
        expected = builds[0] if overlay == "production" else f"{slug}:dev"
        assert images == {expected}, f"{overlay}: {images}"
        assert expected.rsplit(":", 1)[0].rsplit("/", 1)[-1] == slug
    for command in documented_commands(section, "kubectl apply -k "):
        assert (manifests.path / command[3]).is_dir(), command

"""Scale-out, proven on a real topology: three replicas behind HAProxy, a worker, PostgreSQL
and Redis, all on this machine.

Each replica runs the image's own server command (the Dockerfile's `CMD`) on a port of its
own, with the production settings a deployment gives every replica (one `AUTH_SECRET_KEY`,
`DATABASE_URL` and `REDIS_URL`; `FORWARDED_ALLOW_IPS` naming the balancer). HAProxy plays
the Kubernetes Service and ingress: it balances round-robin, checks `/health/ready` every
`CHECK_INTERVAL_S`, adds the client's address to `X-Forwarded-For`, and sends a connection
the replica refused to another one. The worker runs compose's `worker` command.

A rolling restart does what Kubernetes does to a pod it replaces: the replica leaves the
balancer (the endpoint is removed), the `preStop` pause lets that reach the balancer, SIGTERM
lets the requests in flight finish, and the replica starts again and comes back once ready.

Slow (it needs haproxy from Debian's packages, PostgreSQL and Redis): `.ci/run` installs
haproxy when missing.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import yaml
from support import (
    POSTGRES_URL,
    Project,
    ProjectCache,
    free_port,
    missing_prerequisite,
    psql,
    require_postgres,
    subprocess_env,
    tail,
    wait_until_ready,
)

pytestmark = pytest.mark.slow

ANSWERS = {"database": "postgresql", "worker": "true", "cache": "true", "observability": "true"}
REPLICAS = 3
CHECK_INTERVAL_S = 0.25
"""HAProxy's health-check interval; `FALL` failed checks in a row take a replica out."""
FALL = 2
PRE_STOP_S = 1.0
"""The `preStop` pause: the time the balancer gets to stop sending to a replica."""
READY_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 25.0
LOAD_CONCURRENCY = 6
LOAD_MAX_REQUESTS = 4000
"""Bounds every load phase, whatever happens to the stop signal."""
REDIS_URL = "redis://127.0.0.1:6379/0"
PASSWORD = "s3cret-pass-word"
LOGIN_RATE_LIMIT = 3
LOGIN_RATE_LIMIT_PER_ADDRESS = 8
STATEMENT_TIMEOUT_S = 2
CACHE_GUARD_S = STATEMENT_TIMEOUT_S + 1
"""How long an invalidated cache key stays unfilled (the cache's guard: the statement timeout
plus one second)."""


def dockerfile_command(project: Project, host: str, port: int) -> list[str]:
    """The image's `CMD`, listening on `host`:`port`, its executable from the project's venv."""
    [cmd] = re.findall(
        r"^CMD (\[.*\])\s*$", (project.path / "Dockerfile").read_text(), re.MULTILINE
    )
    command: list[str] = json.loads(cmd)
    for option, value in (("--host", host), ("--port", str(port))):
        assert option in command, f"the Dockerfile's CMD has no {option}: {command}"
        command[command.index(option) + 1] = value
    return [str(project.path / ".venv" / "bin" / command[0]), *command[1:]]


def compose_command(project: Project, service: str) -> list[str]:
    """The command compose.yaml runs for `service`, its executable from the project's venv."""
    compose = yaml.safe_load((project.path / "compose.yaml").read_text())
    command: list[str] = compose["services"][service]["command"]
    return [str(project.path / ".venv" / "bin" / command[0]), *command[1:]]


class Process:
    """A long-running command run in `cwd`, in a process group of its own (as a container's
    processes are), its output in `log_dir`/`name`.log."""

    def __init__(
        self, name: str, command: list[str], cwd: Path, env: Mapping[str, str], log_dir: Path
    ) -> None:
        self.name = name
        self.command = command
        self.cwd = cwd
        self.env = env
        self.log = log_dir / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                self.command,
                cwd=self.cwd,
                env=subprocess_env(self.env),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def output(self) -> str:
        return tail(self.log.read_bytes())

    def signal(self, signum: int) -> None:
        assert self.process is not None
        if self.process.poll() is None:
            os.killpg(self.process.pid, signum)

    def stop(self) -> int | None:
        """SIGTERM, as Kubernetes stops a container; the exit code, or None if it had to be
        killed after `STOP_TIMEOUT_S`."""
        assert self.process is not None
        self.signal(signal.SIGTERM)
        try:
            return self.process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            self.process.wait()
            return None


class Replica(Process):
    """One API replica: the image's server command on a port of its own."""

    def __init__(self, index: int, project: Project, env: Mapping[str, str], log_dir: Path) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        command = dockerfile_command(project, "127.0.0.1", self.port)
        super().__init__(f"r{index}", command, project.path, env, log_dir)

    def wait_ready(self) -> None:
        assert self.process is not None
        wait_until_ready(
            self.base_url, self.process, self.output, name=self.name, timeout=READY_TIMEOUT_S
        )

    def access_lines(self) -> list[dict[str, object]]:
        """The access-log records this replica wrote (JSON lines of the `access` logger)."""
        records = []
        for line in self.log.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                record = json.loads(line)
                if record.get("logger") == "access":
                    records.append(record)
        return records


class HAProxy(Process):
    """The balancer in front of the replicas, with its runtime API on a Unix socket."""

    BACKEND = "replicas"

    def __init__(self, replicas: list[Replica], log_dir: Path) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.socket = log_dir / "haproxy.sock"
        inter = f"{round(CHECK_INTERVAL_S * 1000)}ms"
        servers = "\n".join(
            f"    server {replica.name} 127.0.0.1:{replica.port}" for replica in replicas
        )
        config = log_dir / "haproxy.cfg"
        config.write_text(
            f"""global
    stats socket {self.socket} mode 600 level admin

defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    # A busy replica may answer its check slowly; a dead one refuses it at once.
    timeout check 2s
    # A connection a replica refused (it is stopping, or gone) is tried again on another:
    # nothing was sent yet, so this is safe for every method.
    retries 3
    option redispatch 1

frontend api
    bind 127.0.0.1:{self.port}
    # X-Forwarded-For: the client's address, which the replicas trust from 127.0.0.1 only.
    option forwardfor
    default_backend {self.BACKEND}

backend {self.BACKEND}
    balance roundrobin
    option httpchk GET /health/ready
    http-check expect status 200
    default-server check inter {inter} fall {FALL} rise 2
{servers}
"""
        )
        command = [shutil.which("haproxy") or "haproxy", "-db", "-f", str(config)]
        super().__init__("haproxy", command, log_dir, {}, log_dir)

    def ask(self, command: str) -> str:
        """Send one runtime-API command; its answer."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.connect(str(self.socket))
            sock.sendall(command.encode() + b"\n")
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode()

    def servers(self) -> dict[str, dict[str, str]]:
        """`show stat` of each replica: `status` (UP, DOWN, MAINT, ...), `stot` (sessions)."""
        lines = self.ask("show stat").splitlines()
        header = lines[0].removeprefix("# ").split(",")
        rows = [dict(zip(header, line.split(","), strict=False)) for line in lines[1:] if line]
        return {
            row["svname"]: row
            for row in rows
            if row["pxname"] == self.BACKEND and row["svname"] not in ("FRONTEND", "BACKEND")
        }

    def wait_status(self, name: str, prefix: str, timeout: float = READY_TIMEOUT_S) -> float:
        """Wait until replica `name`'s status starts with `prefix`; the seconds it took."""
        start = time.monotonic()
        while (status := self.servers()[name]["status"]) and not status.startswith(prefix):
            if time.monotonic() - start > timeout:
                pytest.fail(
                    f"{name} is {status}, not {prefix}, after {timeout:.0f} s", pytrace=False
                )
            time.sleep(0.02)
        return time.monotonic() - start

    def set_state(self, name: str, state: str) -> None:
        answer = self.ask(f"set server {self.BACKEND}/{name} state {state}")
        assert not answer.strip(), answer


@dataclass
class Topology:
    project: Project
    database: str
    env: dict[str, str]
    replicas: list[Replica]
    haproxy: HAProxy
    worker: Process
    token: str = ""

    def replica(self, name: str) -> Replica:
        return next(replica for replica in self.replicas if replica.name == name)

    def output(self) -> str:
        processes = [*self.replicas, self.worker, self.haproxy]
        return "\n".join(f"--- {p.name}:\n{p.output()}" for p in processes)


def client_from(address: str, base_url: str, token: str = "") -> httpx.AsyncClient:
    """A client whose connections come from `address` (any of 127.0.0.0/8 is this machine)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    transport = httpx.AsyncHTTPTransport(local_address=address)
    return httpx.AsyncClient(base_url=base_url, transport=transport, headers=headers, timeout=10)


async def register(client: httpx.AsyncClient) -> str:
    """Register a new user through `client` and log in; the user's access token."""
    email = f"user-{uuid.uuid4().hex[:10]}@example.com"
    registered = await client.post("/api/v1/users", json={"email": email, "password": PASSWORD})
    assert registered.status_code == 201, registered.text
    token = await client.post("/api/v1/auth/token", data={"username": email, "password": PASSWORD})
    assert token.status_code == 200, token.text
    return str(token.json()["access_token"])


@pytest.fixture(scope="module")
def topology(
    projects: ProjectCache, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Topology]:
    if shutil.which("haproxy") is None:
        missing_prerequisite("haproxy is not installed (apt-get install -y haproxy)")
    require_postgres()
    project = projects.get(**ANSWERS)
    log_dir = tmp_path_factory.mktemp("scale-out")
    database = f"{project.package}_scale_{uuid.uuid4().hex[:8]}"
    base = POSTGRES_URL.rsplit("/", 1)[0]
    run_id = uuid.uuid4().hex[:8]
    env = {
        "ENVIRONMENT": "production",
        "AUTH_SECRET_KEY": secrets.token_hex(32),
        "DATABASE_URL": f"{base}/{database}",
        "REDIS_URL": REDIS_URL,
        "FORWARDED_ALLOW_IPS": "127.0.0.1",
        "LOG_JSON": "true",
        "TASK_QUEUE": f"scale-out-{run_id}:tasks",
        "CACHE_KEY_PREFIX": f"scale-out-{run_id}:cache:",
        "LOGIN_RATE_LIMIT": f"{LOGIN_RATE_LIMIT}/minute",
        "LOGIN_RATE_LIMIT_PER_ADDRESS": f"{LOGIN_RATE_LIMIT_PER_ADDRESS}/minute",
        "DATABASE_STATEMENT_TIMEOUT_SECONDS": str(STATEMENT_TIMEOUT_S),
    }
    psql(f'CREATE DATABASE "{database}"')
    replicas: list[Replica] = []
    started: list[Process] = []
    try:
        # As a deployment does: migrate once, then start the replicas.
        project.run(".venv/bin/alembic", "upgrade", "head", env=env)
        replicas = [Replica(index, project, env, log_dir) for index in range(1, REPLICAS + 1)]
        worker = Process("worker", compose_command(project, "worker"), project.path, env, log_dir)
        haproxy = HAProxy(replicas, log_dir)
        for process in [*replicas, worker, haproxy]:
            process.start()
            started.append(process)
        for replica in replicas:
            replica.wait_ready()
        for replica in replicas:
            haproxy.wait_status(replica.name, "UP")
        topology = Topology(project, database, env, replicas, haproxy, worker)

        async def log_in() -> str:
            async with client_from("127.0.0.1", haproxy.base_url) as client:
                return await register(client)

        topology.token = asyncio.run(log_in())
        yield topology
    finally:
        for process in reversed(started):
            process.stop()
        project.run(
            ".venv/bin/python",
            "-c",
            "import redis, sys\n"
            "r = redis.Redis.from_url(sys.argv[1])\n"
            "for prefix in sys.argv[2:]:\n"
            "    keys = list(r.scan_iter(prefix + '*'))\n"
            "    keys and r.delete(*keys)\n",
            REDIS_URL,
            f"scale-out-{run_id}:",
        )
        psql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


@dataclass
class Load:
    """Steady, bounded traffic through the balancer: lists and creates, `LOAD_CONCURRENCY` at
    a time, until `stop` is set or `LOAD_MAX_REQUESTS` have been sent."""

    base_url: str
    token: str
    writes_only: bool = False
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    statuses: Counter[int] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    created: list[int] = field(default_factory=list)
    sent: int = 0

    async def run(self) -> None:
        async with client_from("127.0.0.1", self.base_url, self.token) as client:
            await asyncio.gather(*(self._loop(client, n) for n in range(LOAD_CONCURRENCY)))

    async def _loop(self, client: httpx.AsyncClient, n: int) -> None:
        while not self.stop.is_set() and self.sent < LOAD_MAX_REQUESTS:
            self.sent += 1
            write = self.writes_only or self.sent % 2 == 0
            try:
                if write:
                    name = f"load-{n}-{self.sent}-{uuid.uuid4().hex[:6]}"
                    response = await client.post("/api/v1/items", json={"name": name})
                else:
                    response = await client.get("/api/v1/items", params={"limit": 5})
            except httpx.TransportError as exc:
                self.errors.append(repr(exc))
                continue
            self.statuses[response.status_code] += 1
            if response.status_code == 201:
                self.created.append(int(response.json()["id"]))
            elif response.status_code >= 300:
                self.errors.append(f"{response.status_code} {response.text[:200]}")

    @property
    def answered(self) -> int:
        return sum(self.statuses.values())


def stored_ids(topology: Topology, ids: list[int]) -> set[int]:
    listed = ",".join(map(str, ids)) or "0"
    rows = psql(f"SELECT id FROM items WHERE id IN ({listed})", database=topology.database)
    return {int(row) for row in rows.split()}


def report(capsys: pytest.CaptureFixture[str], line: str) -> None:
    """Print a figure of the topology's behaviour to the terminal, past pytest's capture."""
    with capsys.disabled():
        print(f"\n[scale-out] {line}")


def test_a_rolling_restart_loses_no_request(
    topology: Topology, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each replica in turn leaves the balancer, pauses, gets SIGTERM, drains, exits 0, starts
    again and rejoins, under steady load: every request of the load answers 2xx."""
    haproxy = topology.haproxy

    def restart(replica: Replica) -> int | None:
        haproxy.set_state(replica.name, "maint")  # the endpoint is removed
        time.sleep(PRE_STOP_S)  # preStop
        returncode = replica.stop()  # SIGTERM: the requests in flight finish
        replica.start()
        replica.wait_ready()
        haproxy.set_state(replica.name, "ready")
        haproxy.wait_status(replica.name, "UP")
        return returncode

    async def scenario() -> tuple[Load, list[int | None]]:
        load = Load(haproxy.base_url, topology.token)
        running = asyncio.create_task(load.run())
        await asyncio.sleep(1.0)
        codes = [await asyncio.to_thread(restart, replica) for replica in topology.replicas]
        await asyncio.sleep(1.0)  # traffic reaches the last one again
        load.stop.set()
        await running
        return load, codes

    served_before = {name: int(row["stot"]) for name, row in haproxy.servers().items()}
    load, codes = asyncio.run(scenario())
    report(
        capsys,
        f"rolling restart of {REPLICAS} replicas: {load.answered} requests answered "
        f"({dict(load.statuses)}), {len(load.errors)} lost; exit codes {codes}",
    )

    # uvicorn ends by SIGTERM once it has shut down (-15): on its own, not killed.
    assert set(codes) <= {0, -signal.SIGTERM}, f"exit codes {codes}\n{topology.output()}"
    assert not load.errors, f"{len(load.errors)} lost: {load.errors[:5]}\n{topology.output()}"
    assert set(load.statuses) <= {200, 201}, load.statuses
    assert load.answered >= 50, f"too little load to show anything: {load.statuses}"
    served_after = {name: int(row["stot"]) for name, row in haproxy.servers().items()}
    assert all(served_after[name] > served_before[name] for name in served_before), served_after
    assert stored_ids(topology, load.created) == set(load.created)


def test_login_rate_limits_are_shared_by_the_replicas(topology: Topology) -> None:
    """The attempts counted by one replica count on the others: after `LOGIN_RATE_LIMIT`
    failures spread over the replicas, the next one is refused wherever it lands."""

    async def scenario() -> list[int]:
        email = f"target-{uuid.uuid4().hex[:10]}@example.com"
        statuses = []
        for attempt in range(LOGIN_RATE_LIMIT + 1):
            replica = topology.replicas[attempt % REPLICAS]
            async with client_from("127.0.0.3", replica.base_url) as client:
                response = await client.post(
                    "/api/v1/auth/token", data={"username": email, "password": "wrong-guess"}
                )
            statuses.append(response.status_code)
        return statuses

    statuses = asyncio.run(scenario())

    assert statuses == [401] * LOGIN_RATE_LIMIT + [429], statuses


def test_cache_invalidation_reaches_every_replica(topology: Topology) -> None:
    """An item read through one replica is cached; a change made through another is what
    every replica serves next."""
    r1, r2, r3 = (replica.base_url for replica in topology.replicas)

    async def scenario() -> dict[str, str]:
        seen = {}
        async with (
            client_from("127.0.0.1", r1, topology.token) as one,
            client_from("127.0.0.1", r2, topology.token) as two,
            client_from("127.0.0.1", r3, topology.token) as three,
        ):
            created = await one.post("/api/v1/items", json={"name": f"cached-{uuid.uuid4().hex}"})
            assert created.status_code == 201, created.text
            path = f"/api/v1/items/{created.json()['id']}"
            # The worker's change (processed_at) drops the entry too: let it pass, and the
            # guard after it, so that the next read fills the cache.
            await wait_processed(one, [created.json()["id"]])
            await asyncio.sleep(CACHE_GUARD_S + 0.5)
            assert (await two.get(path)).status_code == 200  # now cached
            # Behind the cache's back: a replica that serves from the cache sees no description.
            psql(
                f"UPDATE items SET description = 'raw' WHERE id = {created.json()['id']}",
                database=topology.database,
            )
            seen["cached"] = (await two.get(path)).json()["description"]
            patched = await three.patch(path, json={"description": "patched"})
            assert patched.status_code == 200, patched.text
            for name, client in (("r1", one), ("r2", two), ("r3", three)):
                seen[name] = (await client.get(path)).json()["description"]
        return seen

    seen = asyncio.run(scenario())

    assert seen["cached"] is None, f"the read was not served from the cache: {seen}"
    assert {seen["r1"], seen["r2"], seen["r3"]} == {"patched"}, seen


def test_the_client_address_is_the_one_behind_the_balancer(topology: Topology) -> None:
    """The replicas log and rate-limit the address the balancer saw, from its
    `X-Forwarded-For` only: a client's own `X-Forwarded-For` is not believed."""
    haproxy = topology.haproxy
    spoofed = {"X-Forwarded-For": "203.0.113.9"}

    async def scenario() -> tuple[dict[str, str], list[int], int]:
        request_ids = {}
        for address, base_url in (
            ("127.0.0.5", haproxy.base_url),
            ("127.0.0.6", topology.replicas[0].base_url),
        ):
            request_id = f"address-{uuid.uuid4().hex}"
            async with client_from(address, base_url) as client:
                response = await client.get(
                    "/health/live", headers={**spoofed, "X-Request-ID": request_id}
                )
            assert response.status_code == 200
            request_ids[request_id] = address
        # The per-address login limit counts the client behind the balancer, each apart.
        statuses = []
        async with client_from("127.0.0.7", haproxy.base_url) as client:
            for n in range(LOGIN_RATE_LIMIT_PER_ADDRESS + 1):
                response = await client.post(
                    "/api/v1/auth/token",
                    data={
                        "username": f"nobody-{n}-{uuid.uuid4().hex[:6]}@example.com",
                        "password": "wrong-guess",
                    },
                    headers={"X-Forwarded-For": f"198.51.100.{n}"},
                )
                statuses.append(response.status_code)
        async with client_from("127.0.0.8", haproxy.base_url) as client:
            other = await client.post(
                "/api/v1/auth/token",
                data={
                    "username": f"someone-{uuid.uuid4().hex[:6]}@example.com",
                    "password": "wrong-guess",
                },
            )
        return request_ids, statuses, other.status_code

    request_ids, statuses, other = asyncio.run(scenario())

    logged = {
        str(record["request_id"]): record.get("client")
        for replica in topology.replicas
        for record in replica.access_lines()
        if record.get("request_id") in request_ids
    }
    assert logged == request_ids, f"access lines: {logged}, expected {request_ids}"
    assert statuses == [401] * LOGIN_RATE_LIMIT_PER_ADDRESS + [429], statuses
    assert other == 401, "another client behind the balancer was limited too"


async def wait_processed(client: httpx.AsyncClient, ids: list[int]) -> list[object]:
    """Each item's `processed_at`, once the worker has processed them all (or 20 s passed)."""
    deadline = time.monotonic() + 20
    processed: list[object] = []
    while time.monotonic() < deadline:
        processed = [
            (await client.get(f"/api/v1/items/{item_id}")).json()["processed_at"] for item_id in ids
        ]
        if all(processed):
            break
        await asyncio.sleep(0.2)
    return processed


def test_the_worker_processes_items_created_through_any_replica(topology: Topology) -> None:
    async def scenario() -> list[object]:
        async with client_from("127.0.0.1", topology.haproxy.base_url, topology.token) as client:
            ids = []
            for _ in range(REPLICAS):
                created = await client.post("/api/v1/items", json={"name": uuid.uuid4().hex})
                assert created.status_code == 201, created.text
                ids.append(created.json()["id"])
            return await wait_processed(client, ids)

    processed = asyncio.run(scenario())

    assert all(processed), f"not processed: {processed}\n{topology.output()}"


def test_a_killed_replica_leaves_the_balancer_and_loses_no_acknowledged_write(
    topology: Topology, capsys: pytest.CaptureFixture[str]
) -> None:
    """SIGKILL one replica mid-load (writes only): the balancer marks it down within its
    checks, sends it nothing more, and every create that was answered 201 is stored. Only the
    requests it held when it died may fail."""
    haproxy = topology.haproxy
    victim = topology.replicas[1]

    async def scenario() -> tuple[Load, float, int, int]:
        load = Load(haproxy.base_url, topology.token, writes_only=True)
        running = asyncio.create_task(load.run())
        await asyncio.sleep(1.0)
        victim.signal(signal.SIGKILL)
        seconds_to_down = await asyncio.to_thread(haproxy.wait_status, victim.name, "DOWN", 10)
        sessions_at_down = int(haproxy.servers()[victim.name]["stot"])
        await asyncio.sleep(2.0)
        sessions_later = int(haproxy.servers()[victim.name]["stot"])
        load.stop.set()
        await running
        return load, seconds_to_down, sessions_at_down, sessions_later

    try:
        load, seconds_to_down, at_down, later = asyncio.run(scenario())
    finally:
        assert victim.process is not None
        victim.process.wait()
        victim.start()
        victim.wait_ready()
    stored = stored_ids(topology, load.created)
    report(
        capsys,
        f"SIGKILL of {victim.name} mid-load: out of the balancer after {seconds_to_down:.2f} s "
        f"(checks every {CHECK_INTERVAL_S} s, {FALL} to fail), {later - at_down} sessions "
        f"sent to it after; {len(load.errors)} requests failed (in flight), "
        f"{len(load.created)} creates acknowledged, {len(stored)} of them stored",
    )

    # FALL checks CHECK_INTERVAL_S apart, plus the one under way when it died, plus slack
    # for a loaded machine.
    assert seconds_to_down <= CHECK_INTERVAL_S * (FALL + 1) + 1.0, seconds_to_down
    assert later == at_down, "the balancer still sent sessions to the dead replica"
    assert len(load.errors) <= LOAD_CONCURRENCY, f"{load.errors}\n{topology.output()}"
    assert load.statuses[201] >= 50, load.statuses
    assert stored == set(load.created), "an acknowledged write is lost"

"""The production setup: Dockerfile, docker-compose.yml and deploy/ (docs/deploy.md).

Our machines run no containers, so this checks what it can: the compose file as Docker
Compose itself reads it (`docker-compose config` / `docker compose config`, which need no
daemon; skipped locally without the client, never in CI), what a user relies on in the
three files, and the image's own start-up (deploy/start.sh) run directly on a real
PostgreSQL: two workers at once on a fresh database, as the compose file starts them."""

from __future__ import annotations

import fnmatch
import ipaddress
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.config import SETTINGS
from tests.postgres import pg_server, pg_url  # noqa: F401  (fixtures)
from tests.processes import ROOT, free_port

COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")
NGINX = (ROOT / "deploy" / "nginx.conf").read_text(encoding="utf-8")
START = ROOT / "deploy" / "start.sh"
PASSWORD = "Zq8wPostgresSecret41"


def compose_client() -> list[str]:
    """The Docker Compose command here; skips without one (fails in CI, where .ci/run
    installs Debian's docker-compose)."""
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if shutil.which("docker") and subprocess.run(
            ["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    if os.environ.get("CI"):
        raise RuntimeError("CI needs a Docker Compose client for the compose file check "
                           "(.ci/run installs Debian's docker-compose)")
    pytest.skip("no Docker Compose client (apt-get install -y docker-compose): the compose "
                "file is not checked by Compose itself")


def spec() -> dict[str, Any]:
    return dict(yaml.safe_load(COMPOSE.read_text(encoding="utf-8")))


def workers(services: dict[str, Any]) -> dict[str, Any]:
    """The services that run Heard: built from this folder's Dockerfile."""
    return {name: s for name, s in services.items() if "build" in s}


def published(service: dict[str, Any]) -> list[Any]:
    return list(service.get("ports", []))


# ------------------------------------------------------------------ docker-compose.yml

def test_compose_itself_reads_the_file_and_the_password_is_set_in_one_place(
        tmp_path: Path) -> None:
    """What `docker compose up` would run after `cp .env.example .env` and setting the
    password: PostgreSQL and every worker get the same one from .env."""
    client = compose_client()
    for name in ("docker-compose.yml", "Dockerfile"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "deploy", tmp_path / "deploy")
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    (tmp_path / ".env").write_text(example + "\nPOSTGRES_PASSWORD=k7Qm2xVb9Lr4\n",
                                   encoding="utf-8")
    done = subprocess.run([*client, "config"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    services = yaml.safe_load(done.stdout)["services"]
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"] == "k7Qm2xVb9Lr4"
    heard = workers(services)
    assert len(heard) == 3
    for service in heard.values():
        assert service["environment"]["HEARD_DB"] == \
            "postgresql://heard:k7Qm2xVb9Lr4@postgres:5432/heard"
        # the compose file's settings win over the SQLite defaults copied into .env
        assert service["environment"]["HEARD_HOST"] == "0.0.0.0"
    assert [name for name, s in services.items() if published(s)] == ["proxy"]


def test_three_workers_on_postgres_behind_the_proxy_which_alone_is_reachable() -> None:
    services = spec()["services"]
    heard = workers(services)
    assert sorted(heard) == ["heard1", "heard2", "heard3"]
    assert [name for name, s in services.items() if published(s)] == ["proxy"]
    postgres = services["postgres"]
    assert postgres["image"].startswith("postgres:16")
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    assert any(v.endswith(":/var/lib/postgresql/data") for v in postgres["volumes"])
    for name, service in heard.items():
        env = service["environment"]
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy", name
        assert re.fullmatch(r"postgresql://heard:[^@]+@postgres:5432/heard", env["HEARD_DB"])
        assert env["HEARD_WORKERS"] == "1"       # one process per container
        assert service["env_file"] == ".env"
        # every worker keeps customers' files on the one shared volume
        mount = next(v for v in service["volumes"] if v.startswith("files:"))
        assert mount.split(":")[1] == env["HEARD_FILES"]
    assert set(spec()["volumes"]) >= {"postgres", "files"}
    assert set(services["proxy"]["depends_on"]) == set(heard)


def test_the_workers_believe_forwarded_addresses_from_their_own_network_only() -> None:
    """The proxy sits on the Heard network; X-Forwarded-For from anywhere else is not
    believed, so one visitor cannot pose as another to the sign-in limiter."""
    data = spec()
    subnets = [ipaddress.ip_network(c["subnet"])
               for c in data["networks"]["heard"]["ipam"]["config"]]
    for service in data["services"].values():
        assert service["networks"] == ["heard"]
    for service in workers(data["services"]).values():
        trusted = [ipaddress.ip_network(n.strip())
                   for n in service["environment"]["HEARD_TRUSTED_PROXIES"].split(",")]
        assert trusted == subnets
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in NGINX


# ------------------------------------------------------------------ deploy/nginx.conf

def test_the_proxy_sends_to_every_worker_and_streams_the_live_queue() -> None:
    upstream = re.search(r"upstream heard \{(.*?)\}", NGINX, flags=re.S)
    assert upstream is not None
    servers = re.findall(r"^\s*server\s+([\w.-]+):(\d+)", upstream.group(1), flags=re.M)
    heard = workers(spec()["services"])
    assert sorted(host for host, _ in servers) == sorted(heard)
    for host, port in servers:
        assert port == heard[host]["environment"]["HEARD_PORT"]
    assert len(re.findall(r"proxy_pass http://heard;", NGINX)) >= 2
    # the console's server-sent events must reach the agent at once, not in a buffer
    events = re.search(r"location /console/api/events \{(.*?)\}", NGINX, flags=re.S)
    assert events is not None and "proxy_buffering off;" in events.group(1)
    assert "/console/api/events" in (ROOT / "adapters" / "console.py").read_text()


def test_the_proxy_lets_the_largest_file_heard_accepts_through() -> None:
    size = re.search(r"client_max_body_size (\d+)m;", NGINX)
    assert size is not None
    largest = max(float(SETTINGS[name][0]) for name in ("HEARD_IMAGE_MAX_MB", "HEARD_FILE_MAX_MB"))
    assert int(size.group(1)) > largest     # so Heard, not nginx, tells the customer


# ------------------------------------------------------------------ Dockerfile

def instructions(text: str) -> list[tuple[str, str]]:
    joined = re.sub(r"\\\n", " ", text)
    lines = [line.strip() for line in joined.splitlines()]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "")
            for line in lines if line and not line.startswith("#")]


def final_stage() -> list[tuple[str, str]]:
    steps = instructions(DOCKERFILE)
    last = max(i for i, (op, _) in enumerate(steps) if op == "FROM")
    return steps[last:]


def test_the_image_runs_as_a_user_and_reports_its_health() -> None:
    steps = final_stage()
    assert steps[0][1].startswith("python:3.11-slim")
    users = [arg for op, arg in steps if op == "USER"]
    assert users and users[-1] not in ("root", "0")
    health = " ".join(arg for op, arg in steps if op == "HEALTHCHECK")
    assert "/healthz" in health and "curl" not in health
    assert ("EXPOSE", "8080") in steps
    env = " ".join(arg for op, arg in steps if op == "ENV")
    assert "HEARD_HOST=0.0.0.0" in env and "HEARD_WORKERS=1" in env


def test_the_image_starts_with_deploy_start_sh_and_installs_the_postgresql_extra() -> None:
    steps = instructions(DOCKERFILE)
    copied = [arg.split() for op, arg in steps if op == "COPY" and "start.sh" in arg]
    assert copied and copied[0][0] == "deploy/start.sh"
    cmd = json.loads(next(arg for op, arg in reversed(steps) if op == "CMD"))
    assert cmd[0] in (copied[0][-1], Path(copied[0][-1]).name)
    extras = re.findall(r'"\.\[([^\]]*)\]"', DOCKERFILE)
    assert extras == ["postgresql"]                 # no test or lint tools in the image
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(r"^postgresql = \[", pyproject, flags=re.M), "no postgresql extra"
    script = START.read_text(encoding="utf-8")
    assert os.access(START, os.X_OK)
    assert script.index("heard migrate") < script.index("exec heard serve --workers 1")


def ignored(path: str, patterns: list[str]) -> bool:
    """.dockerignore's rule: the last pattern that matches decides."""
    verdict = False
    for pattern in patterns:
        keep = pattern.startswith("!")
        bare = pattern.lstrip("!").rstrip("/")
        if fnmatch.fnmatch(path, bare) or path.startswith(bare + "/"):
            verdict = not keep
    return verdict


def test_the_build_context_holds_what_the_image_copies_and_no_secrets() -> None:
    patterns = [line.strip() for line in
                (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
                if line.strip() and not line.startswith("#")]
    for op, arg in instructions(DOCKERFILE):
        if op == "COPY" and "--from" not in arg:
            for source in arg.split()[:-1]:
                assert (ROOT / source).exists(), source
                assert not ignored(source, patterns), f"{source} is left out of the build"
    for secret in (".env", "data/heard.db", ".git/config", ".venv/bin/python"):
        assert ignored(secret, patterns), secret


# ------------------------------------------------------------------ the start-up itself

def start(env: dict[str, str], log: Path) -> subprocess.Popen[str]:
    """deploy/start.sh with its output (what `docker compose logs` shows) in `log`."""
    with log.open("w", encoding="utf-8") as out:
        return subprocess.Popen([str(START)], cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT, text=True)


def healthy(url: str, process: subprocess.Popen[str], log: Path,
            seconds: float = 180) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the start-up ended ({process.returncode}): "
                                 f"{log.read_text(encoding='utf-8')}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as r:
                if r.status == 200:
                    return dict(json.loads(r.read()))
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url}/healthz never answered 200")


def chat(url: str, text: str, cookie: str = "") -> str:
    """Say `text` on the web chat; returns the visitor's cookie once the bot answered."""
    request = urllib.request.Request(
        f"{url}/chat/api/messages", data=json.dumps({"text": text}).encode(),
        headers={"Content-Type": "application/json", "Cookie": cookie}, method="POST")
    with urllib.request.urlopen(request, timeout=30) as r:
        return r.headers.get("Set-Cookie", "").split(";")[0] or cookie


def transcript(url: str, cookie: str) -> dict[str, Any]:
    request = urllib.request.Request(f"{url}/chat/api/messages", headers={"Cookie": cookie})
    with urllib.request.urlopen(request, timeout=10) as r:
        return dict(json.loads(r.read()))


def bot_lines(url: str, cookie: str, more_than: int) -> tuple[list[str], str]:
    deadline = time.monotonic() + 60
    while True:
        state = transcript(url, cookie)
        said = [m["text"] for m in state["messages"] if m["from"] == "bot"]
        if len(said) > more_than or time.monotonic() > deadline:
            return said, (state["case"] or {}).get("number", "")
        time.sleep(0.3)


def test_the_image_start_up_on_postgres_two_workers_at_once(tmp_path: Path,
                                                            pg_url: str) -> None:  # noqa: F811
    """deploy/start.sh as the containers run it: two at once on a fresh database (both
    migrate), both healthy, one conversation answered by either worker, SIGTERM ends
    both cleanly, and the database password in HEARD_DB never reaches the logs."""
    bin_dir = Path(sys.executable).parent
    assert (bin_dir / "heard").exists(), f"`heard` is not installed in {bin_dir}"
    base = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
            "PYTHONPATH": str(ROOT), "HEARD_HOST": "127.0.0.1",
            # the test server lets anyone in, so any password works, as the compose file's
            "HEARD_DB": pg_url.replace("://heard@", f"://heard:{PASSWORD}@"),
            "HEARD_FILES": str(tmp_path / "files"), "HEARD_WORKERS": "",
            "LINE_CHANNEL_SECRET": "", "TELEGRAM_BOT_TOKEN": "", "DISCORD_BOT_TOKEN": ""}
    assert PASSWORD in base["HEARD_DB"]
    ports = [free_port(), free_port()]
    logs = [tmp_path / f"worker{n}.log" for n in (1, 2)]
    processes = [start({**base, "HEARD_PORT": str(port)}, log)
                 for port, log in zip(ports, logs, strict=True)]
    try:
        first, second = (f"http://127.0.0.1:{port}" for port in ports)
        for url, process, log in zip((first, second), processes, logs, strict=True):
            assert healthy(url, process, log)["status"] == "ok"
        cookie = chat(first, "我買的除濕機用三天就不會動了")
        said, number = bot_lines(first, cookie, 0)
        assert said and number and any(number in line for line in said)
        chat(second, "訂單編號 A12345678", cookie)            # the next turn, another worker
        later, again = bot_lines(second, cookie, len(said))
        assert len(later) > len(said) and again == number
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            assert process.wait(timeout=60) == 0
        for log in logs:
            said = log.read_text(encoding="utf-8")
            assert "schema version" in said and "Heard on http://" in said   # what it did
            assert PASSWORD not in said
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()

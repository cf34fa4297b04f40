"""`heard serve` as a real process, for the browser tests."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def heard_serve(env: dict[str, str], stderr: IO[str] | None = None) -> Iterator[str]:
    """Start `heard serve` with these settings (on top of os.environ); yields its URL once
    `/healthz` answers (a first start on a fresh machine trains the text model)."""
    port = free_port()
    # two workers (the default on a 2-core machine) whatever cores the test machine has
    full = {**os.environ, "LINE_CHANNEL_SECRET": "", "TELEGRAM_BOT_TOKEN": "",
            "HEARD_WORKERS": "2", **env, "HEARD_PORT": str(port)}
    process = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve"], cwd=ROOT, env=full,
                               stdout=subprocess.DEVNULL, stderr=stderr or subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(1200):
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=1) as r:
                # with workers: once the turn worker has loaded its model as well
                if json.loads(r.read()).get("turn_worker") != "starting":
                    break
        except OSError:
            pass
        time.sleep(0.05)
    try:
        yield url
    finally:
        process.terminate()
        process.wait(timeout=15)


def add_agents(env: dict[str, str], password: str,
               accounts: Iterable[tuple[str, str, str]]) -> None:
    """Console accounts (username, display name, role) made with `heard agents add`, as an
    admin would, on the records `env` names."""
    for username, name, role in accounts:
        subprocess.run([sys.executable, "-m", "bot.cli", "agents", "add", username, "--name",
                        name, "--role", role, "--password-stdin"],
                       input=password + "\n", text=True, cwd=ROOT, env={**os.environ, **env},
                       check=True, capture_output=True)

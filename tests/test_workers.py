"""`heard serve --workers`: a supervisor, an HTTP worker and a turn worker as real
processes. The web chat is answered across them, a killed worker is started again and the
conversation goes on, SIGTERM stops them all, and a wrong worker count is refused."""

from __future__ import annotations

import asyncio
import json
import os
import select
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from bot.workers import Wake
from tests.crashes import worker_roles
from tests.processes import ROOT, free_port, heard_serve


def post(url: str, text: str, cookie: str = "") -> tuple[dict[str, Any], str]:
    request = urllib.request.Request(
        f"{url}/chat/api/messages", data=json.dumps({"text": text}).encode(),
        headers={"Content-Type": "application/json", "Cookie": cookie}, method="POST")
    with urllib.request.urlopen(request, timeout=30) as r:
        return json.loads(r.read()), r.headers.get("Set-Cookie", "").split(";")[0] or cookie


def health(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{url}/healthz", timeout=5) as r:
        return dict(json.loads(r.read()))


def bot_texts(state: dict[str, Any]) -> list[str]:
    return [m["text"] for m in state["messages"] if m["from"] == "bot"]


def supervisor_of(url: str) -> int:
    port = url.rsplit(":", 1)[1]
    out = subprocess.run(["ps", "-eo", "pid,ppid,args"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        pid, ppid, *args = line.split()
        if "bot.cli" in args and int(ppid) == os.getpid():
            env = Path(f"/proc/{pid}/environ").read_bytes()
            if f"HEARD_PORT={port}".encode() in env:
                return int(pid)
    raise AssertionError("no supervisor found")


def test_the_web_chat_is_answered_across_workers_and_survives_a_killed_turn_worker(
        tmp_path: Path) -> None:
    with heard_serve({"HEARD_DB": str(tmp_path / "w.db"), "HEARD_WORKERS": "2"}) as url:
        state = health(url)
        assert state["worker"] == "HTTP worker 1 of 1" and state["turn_worker"] == "ready"
        assert state["event_loop"] == "uvloop"          # where installed, as here
        first, cookie = post(url, "我買的除濕機用三天就不會動了")
        number = first["case"]["number"]
        assert any(number in text for text in bot_texts(first))       # the turn's replies
        supervisor = supervisor_of(url)
        turns = next(pid for pid, role in worker_roles(supervisor).items() if role == "turns")
        os.kill(turns, signal.SIGKILL)
        second, _ = post(url, "訂單編號 A12345678", cookie)         # kept while it restarts
        deadline = time.monotonic() + 60
        while len(bot_texts(second)) <= len(bot_texts(first)) and time.monotonic() < deadline:
            time.sleep(0.5)
            with urllib.request.urlopen(urllib.request.Request(
                    f"{url}/chat/api/messages", headers={"Cookie": cookie}), timeout=10) as r:
                second = json.loads(r.read())
        assert len(bot_texts(second)) > len(bot_texts(first)), "no answer after the restart"
        assert second["case"]["number"] == number
        roles = worker_roles(supervisor)
        assert sorted(roles.values()) == ["http:0:1", "turns"] and turns not in roles


def test_sigterm_stops_the_supervisor_and_every_worker(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "HEARD_DB": str(tmp_path / "w.db"), "HEARD_PORT": str(port),
           "HEARD_WORKERS": "3", "LINE_CHANNEL_SECRET": "", "TELEGRAM_BOT_TOKEN": ""}
    process = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve"], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        deadline = time.monotonic() + 120
        while len(worker_roles(process.pid)) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        roles = worker_roles(process.pid)
        assert sorted(roles.values()) == ["http:0:2", "http:1:2", "turns"]
        assert "2 HTTP workers and a turn worker" in (process.stdout.readline() if process.stdout
                                                      else "")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
        for pid in roles:
            assert not Path(f"/proc/{pid}").exists() or \
                "Z" in Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    finally:
        if process.poll() is None:
            process.kill()


def test_asyncio_s_own_loop_can_be_asked_for(tmp_path: Path) -> None:
    with heard_serve({"HEARD_DB": str(tmp_path / "w.db"), "HEARD_WORKERS": "2",
                      "HEARD_EVENT_LOOP": "asyncio"}) as url:
        assert health(url)["event_loop"] == "asyncio"
        answer, _ = post(url, "我買的除濕機用三天就不會動了")
        assert any(answer["case"]["number"] in text for text in bot_texts(answer))


def test_a_wrong_worker_count_or_loop_is_refused_clearly(tmp_path: Path) -> None:
    env = {**os.environ, "HEARD_DB": str(tmp_path / "w.db"), "HEARD_PORT": str(free_port())}
    for args, extra, says in ((["--workers", "0"], {}, "--workers must be 1 or more"),
                              ([], {"HEARD_WORKERS": "many"}, "HEARD_WORKERS must be a whole"),
                              ([], {"HEARD_EVENT_LOOP": "tokio"},
                               "HEARD_EVENT_LOOP must be auto, uvloop or asyncio")):
        done = subprocess.run([sys.executable, "-m", "bot.cli", "serve", *args], cwd=ROOT,
                              env={**env, **extra}, capture_output=True, text=True, timeout=60)
        assert done.returncode != 0 and says in done.stderr


async def test_an_http_worker_tells_its_desks_what_the_turn_worker_saw(tmp_path: Path) -> None:
    """The news a turn worker sends (bot/turn_worker.py) reaches the HTTP worker's desks:
    an escalation, the customer's own words on a handed-off case (read from the inbox), an
    SLA breach."""
    from bot.http_worker import HttpLink
    from tests.channels import line_body, line_event, serving

    heard: list[tuple[str, str, str]] = []

    class Recorder:
        name = "recorder"

        async def case_escalated(self, case: Any) -> None:
            heard.append(("escalated", case.number, ""))

        async def customer_wrote(self, case: Any, text: str) -> None:
            heard.append(("wrote", case.number, text))

        async def sla_breached(self, case: Any) -> None:
            heard.append(("sla", case.number, ""))

    async with serving(tmp_path / "h.db") as s:
        said = "我的包裹三天了還沒到，請幫我查"
        await s.post_line(line_body(line_event("text", "U" + "1" * 32, "01NEWS0000000000000000001",
                                               text=said)))
        await s.server.dispatcher.drain()
        number, inbox_id = await s.read(lambda st: (
            st.db.execute("SELECT number FROM cases").fetchone()[0],
            st.db.execute("SELECT id FROM inbox").fetchone()[0]))
        s.server.desk.desks.append(Recorder())
        link = HttpLink(s.server, Wake(None, []), 0, 1)
        for news in ({"i": inbox_id, "e": True, "news": "case_escalated", "n": number},
                     {"i": inbox_id, "e": False, "news": "customer_wrote", "n": number},
                     {"news": "sla_breached", "n": number}):
            link.heard(news)
            await asyncio.gather(*s.server._background)
    assert heard == [("escalated", number, ""), ("wrote", number, said), ("sla", number, "")]


async def test_wake_ups_of_one_moment_go_out_together_each_once_and_whole() -> None:
    """A batch of turns settles at once: its wake-up lines leave in one write per pipe (split
    at PIPE_BUF on line boundaries, so several writers never interleave), in order, and a
    line said twice in the moment ("look") once."""
    read_fd, write_fd = os.pipe()
    os.set_blocking(write_fd, False)
    wake = Wake(None, [write_fd])
    try:
        for i in range(400):
            wake.send({"i": i, "news": "customer_wrote", "n": f"2026CS{i:06d}"})
            wake.send({"look": 1})
        assert os.get_blocking(read_fd) and not select.select([read_fd], [], [], 0)[0]
        await asyncio.sleep(0)                  # the end of the moment
        data = b""
        while select.select([read_fd], [], [], 0.2)[0]:
            data += os.read(read_fd, 65536)
        lines = [json.loads(line) for line in data.decode().splitlines()]
        assert [m["i"] for m in lines if "i" in m] == list(range(400))
        assert lines.count({"look": 1}) == 1
    finally:
        os.close(read_fd)
        os.close(write_fd)

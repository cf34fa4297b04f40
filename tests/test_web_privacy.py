"""What the access log and the URL no longer give away (issue 13, item 12): query strings
are not logged, the console's CSRF token never travels in a URL, and a web-chat visitor id
alone reads nothing: the transcript belongs to the cookie."""

from __future__ import annotations

import contextlib
import urllib.request
from http.cookies import SimpleCookie
from pathlib import Path

import aiohttp

from tests.channels import Served, serving
from tests.processes import heard_serve
from tests.test_console import add_agent, sign_in


def _visitor_session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


async def _say(s: Served, http: aiohttp.ClientSession, text: str) -> dict[str, object]:
    async with http.post(f"{s.url}/chat/api/messages", json={"text": text}) as r:
        assert r.status == 200
        state: dict[str, object] = await r.json()
        return state


async def _transcript(s: Served, http: aiohttp.ClientSession, query: str = "") -> list[str]:
    async with http.get(f"{s.url}/chat/api/messages{query}") as r:
        assert r.status == 200
        return [m["text"] for m in (await r.json())["messages"]]


async def test_a_visitor_id_alone_reads_nothing(tmp_path: Path) -> None:
    async with serving(tmp_path / "h.db") as s:
        amy, eve = _visitor_session(), _visitor_session()
        await _say(s, amy, "我的耳機壞了，訂單 A12345678")
        assert "我的耳機壞了，訂單 A12345678" in await _transcript(s, amy)
        keys = await s.read(lambda st: [r[0] for r in st.conn.execute(
            "SELECT DISTINCT conversation_key FROM messages")])
        [amy_id] = [k.split(":", 1)[1] for k in keys]
        assert len(amy_id) >= 32
        # the id as a query parameter, in the body, or as the cookie itself: nothing
        assert await _transcript(s, eve, f"?visitor={amy_id}") == []
        eve.cookie_jar.update_cookies({"heard_visitor": amy_id})
        assert await _transcript(s, eve) == []
        state = await _say(s, eve, "hello")
        assert [m["text"] for m in state["messages"]  # type: ignore[attr-defined]
                if m["from"] == "customer"] == ["hello"]
        await amy.close()
        await eve.close()


async def test_the_visitor_cookie_is_httponly_and_embeddable_over_https(tmp_path: Path) -> None:
    async with serving(tmp_path / "h.db") as s:
        async with s.http.post(f"{s.url}/chat/api/messages", json={"text": "hi"}) as r:
            plain = SimpleCookie(r.headers["Set-Cookie"])["heard_visitor"]
        assert plain["httponly"] and plain["samesite"] == "Lax" and not plain["secure"]
        async with s.http.post(f"{s.url}/chat/api/messages", json={"text": "hi"},
                               headers={"X-Forwarded-Proto": "https"}) as r:
            header = r.headers["Set-Cookie"]
        assert "Secure" in header and "SameSite=None" in header and "Partitioned" in header


async def test_start_over_gives_a_new_visitor(tmp_path: Path) -> None:
    async with serving(tmp_path / "h.db") as s:
        http = _visitor_session()
        await _say(s, http, "第一次的問題")
        async with http.post(f"{s.url}/chat/api/restart", json={}) as r:
            assert r.status == 200
        assert await _transcript(s, http) == []
        await http.close()


async def test_web_chat_posts_must_be_json(tmp_path: Path) -> None:
    async with serving(tmp_path / "h.db") as s, \
            s.http.post(f"{s.url}/chat/api/messages", data={"text": "hi"}) as r:
        assert r.status == 415              # a cross-site form cannot post as a visitor


async def test_the_csrf_token_is_refused_in_a_url(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    async with serving(db) as s:
        add_agent(db, "amy")
        http, csrf = await sign_in(s, "amy")
        async with http.get(f"{s.url}/console/api/events?csrf={csrf}") as r:
            assert r.status == 403
        async with http.get(f"{s.url}/console/api/cases?csrf={csrf}") as r:
            assert r.status == 403
        await http.close()


def test_heard_serve_logs_no_query_strings(tmp_path: Path) -> None:
    log = tmp_path / "serve.log"
    env = {"HEARD_DB": str(tmp_path / "h.db"), "HEARD_LOG_LEVEL": "INFO"}
    with log.open("w") as err, heard_serve(env, stderr=err) as url:
        for path in ("/chat/api/messages?visitor=SECRETVISITOR42&after=0",
                     "/console/api/events?csrf=SECRETCSRFTOKEN42"):
            with contextlib.suppress(OSError):   # a 401 is fine: the line matters
                urllib.request.urlopen(url + path, timeout=5).read()
    written = log.read_text(encoding="utf-8")
    assert '"GET /chat/api/messages" 200' in written
    assert '"GET /console/api/events" 401' in written
    assert "SECRETVISITOR42" not in written and "SECRETCSRFTOKEN42" not in written

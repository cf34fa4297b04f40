"""The `heard` command as an admin uses it."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.cli import main
from bot.stories import load_stories, run_stories
from dialogs.loader import default_dialog_path, load_dialog
from storage.store import Store
from tests.postgres import Server

ROOT = Path(__file__).resolve().parent.parent


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_classify_json_gives_the_fields_in_three_languages(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    messages = tmp_path / "messages.txt"
    messages.write_text(
        "我買的加濕器用兩天就不出霧了，打給客服三次都沒有答案\n"
        "快递把我的包裹弄丢了，不给我退款我就打12315投诉\n"
        "The heater caught fire and I burned my hand!!!\n",
        encoding="utf-8",
    )
    code, out, _ = run(["classify", str(messages), "--json"], capsys)
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["locale"] for r in rows] == ["zh-TW", "zh-CN", "en"]
    assert [r["category"] for r in rows[:1]] == ["product"]
    for row in rows:
        assert {"text", "locale", "category", "severity", "risk", "escalate", "signals"} <= set(row)
    assert rows[0]["escalate"] is False
    assert rows[1]["escalate"] is True
    threat = next(s for s in rows[1]["signals"] if s["name"] == "threat")
    assert "12315" in threat["words"] and threat["weight"] > 0
    assert rows[2]["severity"] == "urgent" and rows[2]["escalate"] is True


def test_classify_masks_phone_numbers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    messages = tmp_path / "m.txt"
    messages.write_text("請打 0912-345-678 給我，email: amy@example.com\n", encoding="utf-8")
    code, out, _ = run(["classify", str(messages), "--json"], capsys)
    assert code == 0
    assert "0912-345-678" not in out and "345-678" not in out
    assert "amy@example.com" not in out


def test_classify_reads_stdin_in_plain_text() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "classify", "-"], input="我要找真人客服\n",
        capture_output=True, text=True, cwd=ROOT, check=False)
    assert done.returncode == 0, done.stderr
    assert "human_request" in done.stdout and "ESCALATE" in done.stdout


def test_validate_and_lint_pass_on_the_default_dialog(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["validate", str(default_dialog_path())], capsys)[0] == 0
    assert run(["lint", str(default_dialog_path())], capsys)[0] == 0


def _broken_copy(tmp_path: Path, edit) -> Path:  # type: ignore[no-untyped-def]
    data = yaml.safe_load(default_dialog_path().read_text(encoding="utf-8"))
    edit(data)
    path = tmp_path / "broken.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_validate_fails_clearly_on_a_broken_copy(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _broken_copy(tmp_path, lambda d: d["texts"]["ack"].pop("en"))
    code, out, _ = run(["validate", str(path)], capsys)
    assert code == 1
    assert f"{path}:texts.ack" in out


def test_lint_fails_clearly_on_blame_and_boilerplate(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def edit(d):  # type: ignore[no-untyped-def]
        d["texts"]["thanks_reply"]["zh-TW"] = "這是物流公司的問題，造成不便敬請見諒"
    path = _broken_copy(tmp_path, edit)
    code, out, _ = run(["lint", str(path)], capsys)
    assert code == 1
    assert "texts.thanks_reply.zh-TW" in out


def test_test_stories_reports_failures_and_counts(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stories = tmp_path / "s.yml"
    stories.write_text(yaml.safe_dump({"stories": [
        {"name": "passes", "turns": [{"say": "我買的咖啡機到貨就是壞的",
                                      "expect": {"category": "product"}}]},
        {"name": "fails on purpose", "turns": [{"say": "我買的咖啡機到貨就是壞的",
                                                "expect": {"category": "billing"}}]},
    ]}, allow_unicode=True), encoding="utf-8")
    code, out, _ = run(["test-stories", str(stories)], capsys)
    assert code == 1
    assert "fails on purpose" in out and "turn 1" in out and "category" in out
    assert out.strip().splitlines()[-1] == "1 passed, 1 failed"


def test_test_stories_rejects_a_misspelt_expectation(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stories = tmp_path / "s.yml"
    stories.write_text("stories:\n  - name: x\n    turns:\n      - say: hi\n"
                       "        expect: {stag: listening}\n", encoding="utf-8")
    code, _, err = run(["test-stories", str(stories)], capsys)
    assert code == 2
    assert "turns[0].expect.stag" in err


def test_shipped_stories_pass(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["test-stories", str(ROOT / "tests" / "stories")], capsys)
    last = out.strip().splitlines()[-1]
    passed = int(last.split()[0])
    assert passed >= 40, last
    assert code == 0, out


def test_shipped_stories_pass_on_postgresql(pg_server: Server) -> None:
    """The same stories with the records on PostgreSQL, each on a database of its own."""
    template = pg_server.new_database()
    Store.open(template).close()            # migrated once; each story gets a copy
    name = template.rsplit("/", 1)[1]
    dialog = load_dialog(default_dialog_path())
    report = run_stories(load_stories([ROOT / "tests" / "stories"]), dialog,
                         fresh=lambda: pg_server.new_database(template=name))
    assert report.failed == 0, [f"{f.story} turn {f.turn}: {f.what}" for f in report.failures][:5]
    assert report.passed >= 40


def test_chat_then_cases_list_show_and_export(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "records.db"
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "chat", "--real", "--db", str(db)],
        input="我買的加濕器用兩天就不出霧了\n1\n1\n/quit\n",
        capture_output=True, text=True, cwd=ROOT, check=False, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "加濕器" in done.stdout and "[1]" in done.stdout
    found = re.search(r"\d{4}CS\d{6}", done.stdout)
    assert found, done.stdout
    number = found.group(0)

    code, out, _ = run(["cases", "--db", str(db)], capsys)
    assert code == 0 and number in out and "committed" in out
    code, out, _ = run(["cases", "show", number, "--db", str(db)], capsys)
    assert code == 0 and "加濕器" in out and "committed" in out
    code, out, _ = run(["cases", "export", "--db", str(db)], capsys)
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and rows[0]["number"] == number and rows[0]["stage"] == "committed"


def test_cases_on_a_missing_database_says_so(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["cases", "--db", str(tmp_path / "none.db")], capsys)
    assert code == 1 and "no complaint records" in err

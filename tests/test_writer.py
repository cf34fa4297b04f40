"""The single writer: group commits, isolation of a failing job, reads beside it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from storage.store import Store
from storage.writer import Writer


async def test_simultaneous_jobs_are_committed_together_and_all_answered(tmp_path: Path) -> None:
    writer = Writer(tmp_path / "w.db")
    await writer.start()
    numbers = await asyncio.gather(*(writer.run(lambda s: s.next_case_number(2026))
                                     for _ in range(200)))
    commits = writer.commits
    await writer.stop()
    assert sorted(numbers) == [f"2026CS{n:06d}" for n in range(1, 201)]
    assert commits < 200
    store = Store.open(tmp_path / "w.db")
    assert store.next_case_number(2026) == "2026CS000201"
    store.close()


async def test_a_failing_job_is_rolled_back_alone(tmp_path: Path) -> None:
    writer = Writer(tmp_path / "w.db")
    await writer.start()

    def bad(store: Store) -> None:
        store.next_case_number(2030)
        raise ValueError("broken job")

    results = await asyncio.gather(
        writer.run(lambda s: s.next_case_number(2026)), writer.run(bad),
        writer.run(lambda s: s.next_case_number(2026)), return_exceptions=True)
    assert results[0] == "2026CS000001" and results[2] == "2026CS000002"
    assert isinstance(results[1], ValueError)
    # the failed job's serial was rolled back with it
    assert await writer.run(lambda s: s.next_case_number(2030)) == "2030CS000001"
    assert await writer.read(lambda s: s.conn.execute(
        "SELECT last FROM serials WHERE year = 2026").fetchone()[0]) == 2
    await writer.stop()


async def test_stop_finishes_queued_jobs(tmp_path: Path) -> None:
    writer = Writer(tmp_path / "w.db")
    await writer.start()
    jobs = [asyncio.ensure_future(writer.run(lambda s: s.next_case_number(2026)))
            for _ in range(50)]
    await asyncio.sleep(0)
    await writer.stop()
    assert len({job.result() for job in jobs}) == 50


async def test_run_on_a_stopped_writer_is_an_error(tmp_path: Path) -> None:
    writer = Writer(tmp_path / "w.db")
    with pytest.raises(RuntimeError, match="not running"):
        await writer.run(lambda s: None)

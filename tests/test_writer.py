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


async def test_writers_of_two_workers_share_one_file_without_busy_errors(tmp_path: Path) -> None:
    """`heard serve --workers` has a writer in each process on the same records: they take
    turns at the file, every job commits, and no case number is given twice."""
    first, second = Writer(tmp_path / "w.db"), Writer(tmp_path / "w.db")
    await first.start()
    await second.start()

    def slow_number(store: Store) -> str:     # a turn's worth of work inside the lock
        number = store.next_case_number(2026)
        sum(range(20_000))
        return number

    numbers = await asyncio.gather(*(w.run(slow_number) for _ in range(150)
                                     for w in (first, second)))
    await first.stop()
    await second.stop()
    assert sorted(numbers) == [f"2026CS{n:06d}" for n in range(1, 301)]


async def test_a_long_queue_is_committed_in_several_short_transactions(tmp_path: Path) -> None:
    """A turn worker does not hold the write lock for a whole queue of slow jobs: other
    processes get the file between batches; every job is still answered."""
    writer = Writer(tmp_path / "w.db", batch_seconds=0.01)
    await writer.start()

    def slow(store: Store) -> str:
        number = store.next_case_number(2026)
        sum(range(200_000))                     # a few milliseconds of work
        return number

    numbers = await asyncio.gather(*(writer.run(slow) for _ in range(40)))
    commits = writer.commits
    await writer.stop()
    assert sorted(numbers) == [f"2026CS{n:06d}" for n in range(1, 41)]
    assert commits > 4

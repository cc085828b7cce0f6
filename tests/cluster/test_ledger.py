"""The job ledger's rules, on SQLite and on PostgreSQL (skipped when no server is reachable)."""

from concurrent.futures import ThreadPoolExecutor

import pytest

from docproc.ledger import Ledger, StepStart, idempotency_key
from tests.cluster.pg import postgres_schema_url


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger(request, tmp_path):
    if request.param == "sqlite":
        led = Ledger(f"sqlite:///{tmp_path / 'ledger.sqlite3'}")
        yield led
        led.engine.dispose()
    else:
        with postgres_schema_url() as url:
            led = Ledger(url)
            yield led
            led.engine.dispose()


def _job(ledger, name="a", **kw):
    key = idempotency_key(name * 64, "invoice@1", "f" * 16)
    return ledger.create_job(f"/in/{name}.pdf", key, {"schema": "invoice"}, f"/out/{name}.json", **kw)


def test_same_key_returns_the_existing_job(ledger):
    first, created = _job(ledger, batch="b1")
    again, created_again = _job(ledger, batch="b2")
    assert created and not created_again and again.id == first.id
    assert ledger.latest_batch() == "b2" and ledger.counts("b2") == {"queued": 1}


def test_repeated_step_counts_an_attempt_until_the_cap(ledger):
    job, _ = _job(ledger, max_attempts=2)
    assert ledger.begin_step(job.id, 0, "open", "w:1", 60, new_attempt=True) is StepStart.PROCEED
    assert ledger.begin_step(job.id, 0, "open", "w:2", 60, new_attempt=True) is StepStart.PROCEED  # worker lost
    assert ledger.get(job.id).attempts == 2
    assert ledger.begin_step(job.id, 0, "open", "w:3", 60, new_attempt=True) is StepStart.EXHAUSTED
    assert ledger.get(job.id).attempts == 2


def test_done_step_and_stale_run_are_skipped_and_a_job_finishes_once(ledger):
    job, _ = _job(ledger)
    assert ledger.begin_step(job.id, 0, "open", "w:1", 60, new_attempt=True) is StepStart.PROCEED
    assert ledger.finish_step(job.id, 0, "open", idle_deadline_s=60)
    assert ledger.get(job.id).status == "queued"
    assert ledger.begin_step(job.id, 0, "open", "w:1", 60) is StepStart.SKIP  # redelivered after done
    moved = ledger.requeue(job.id, 0, new_run=True, deadline_s=60)
    assert moved.run == 1
    assert ledger.begin_step(job.id, 0, "read", "w:1", 60) is StepStart.SKIP  # fenced off
    writes = []
    assert not ledger.finish_job(job.id, 0, True, write=lambda: writes.append(0))
    assert ledger.finish_job(job.id, 1, True, timings={"ocr": 1.5}, write=lambda: writes.append(1))
    assert not ledger.finish_job(job.id, 1, True, write=lambda: writes.append(2))
    done = ledger.get(job.id)
    assert writes == [1] and done.status == "succeeded" and done.result_writes == 1
    assert done.timings == {"ocr": 1.5}


def test_failed_write_records_nothing(ledger):
    job, _ = _job(ledger)

    def broken():
        raise OSError("disk full")

    with pytest.raises(OSError):
        ledger.finish_job(job.id, 0, True, write=broken)
    assert ledger.get(job.id).status == "queued" and ledger.get(job.id).result_writes == 0


def test_join_is_claimed_exactly_once_under_concurrency(ledger):
    job, _ = _job(ledger)
    parts = [f"pages-{i}-{i}" for i in range(1, 9)]
    ledger.plan_steps(job.id, 0, parts)

    def finish(part):
        ledger.begin_step(job.id, 0, part, "w", 60)
        ledger.finish_step(job.id, 0, part, idle_deadline_s=60)
        return ledger.all_done(job.id, 0, parts) and ledger.claim_step(job.id, 0, "read")

    with ThreadPoolExecutor(8) as pool:
        claims = list(pool.map(finish, parts))
    assert sum(claims) == 1


def test_overdue_lists_only_active_jobs_past_their_deadline(ledger):
    late, _ = _job(ledger, "a", deadline_s=-1)
    _job(ledger, "b", deadline_s=3600)
    done, _ = _job(ledger, "c", deadline_s=-1)
    ledger.finish_job(done.id, 0, False, error_code="x")
    assert [j.id for j in ledger.overdue()] == [late.id]
    assert ledger.retry(done.id).status == "queued" and ledger.get(done.id).run == 1

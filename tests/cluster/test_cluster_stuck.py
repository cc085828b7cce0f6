"""Jobs that stop moving: a frozen worker (SIGSTOP) past the deadline, and a message lost
between the ledger and the broker. The reconciler re-sends them and each completes once."""

import json
import os
import signal
import time

from tests.cluster.docgen import make_documents

# Short page-step limits: a step is stuck at hard limit (10 s) + margin (5 s).
FAST_DEADLINE = {"DOCPROC_TIME_LIMITS": "open=20:25,pages=8:10,read=20:25,reconcile=10:15"}


def _wait(predicate, timeout: float, what: str):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_frozen_worker_job_is_reenqueued_and_completes_once(cluster):
    [doc] = make_documents(cluster.tmp / "docs", n_pdf=1)
    frozen = cluster.start_worker("frozen", extra_env={**FAST_DEADLINE, "DOCPROC_TEST_SLEEP_S": "3"})
    [job_id] = cluster.submit([doc], "--schema", "invoice")
    _wait(lambda: (j := cluster.ledger.get(job_id)).status == "running" and j.worker
          and int(j.worker.rsplit(":", 1)[1]) in frozen.pool_pids()
          # in the (3 s) page step now: started (the open step plans it with 0 starts), not done
          and any(n.startswith("pages") and starts > 0 and not done
                  for n, (starts, done) in cluster.ledger.steps(job_id, 0).items()), 30, "the page step")
    os.killpg(frozen.proc.pid, signal.SIGSTOP)  # the worker this test started, parent and child

    cluster.start_worker("rescuer", beat=True,
                         extra_env={**FAST_DEADLINE, "DOCPROC_RECONCILE_INTERVAL_S": "1"})
    job = _wait(lambda: (j := cluster.ledger.get(job_id)).terminal and j, 60, "the rescued job")
    assert job.status == "succeeded" and job.run == 1 and job.attempts == 2
    assert int(job.worker.rsplit(":", 1)[1]) not in frozen.pool_pids()

    os.killpg(frozen.proc.pid, signal.SIGCONT)  # the stale run-0 step resumes and must be refused
    _wait(lambda: "docproc.pages" in frozen.log.read_text() and (
        "succeeded" in frozen.log.read_text() or "raised" in frozen.log.read_text()
        or "Hard time limit" in frozen.log.read_text()), 30, "the frozen step to end")
    time.sleep(1)
    job = cluster.ledger.get(job_id)
    assert job.status == "succeeded" and job.result_writes == 1
    assert "read" not in cluster.ledger.steps(job_id, 0)  # run 0 never reached the read step
    assert json.loads(open(job.result_path).read())["status"] == "ok"
    assert [p.name for p in cluster.out.iterdir()] == [f"{doc.stem}.json"]


def test_lost_message_is_resent_by_the_reconcile_command(cluster):
    [doc] = make_documents(cluster.tmp / "docs", n_pdf=1, seed=5)
    cluster.env["DOCPROC_QUEUE_DEADLINE_S"] = "1"
    [job_id] = cluster.submit([doc], "--schema", "invoice")
    import redis

    redis.Redis(port=cluster.redis.port).flushall()  # the broker forgets the message
    time.sleep(1.2)
    done = cluster.docproc("reconcile")
    assert done.returncode == 0 and done.stdout.startswith("restarted 0, resent 1") and job_id in done.stdout
    cluster.env["DOCPROC_QUEUE_DEADLINE_S"] = "120"
    cluster.start_worker("w1")
    [job] = cluster.wait_jobs([job_id], timeout=60)
    assert job.status == "succeeded" and job.attempts == 1 and job.result_writes == 1
    status = cluster.docproc("status", job_id)
    assert json.loads(status.stdout)["status"] == "succeeded"

"""A document that kills its worker process every time ends as a failed job with an error
record after the attempt cap; the other documents complete."""

import hashlib
import json

from tests.cluster.docgen import make_documents


def test_poison_document_fails_after_attempt_cap(cluster):
    docs = make_documents(cluster.tmp / "docs", n_pdf=6, n_multi=1)
    poison = docs[2]
    crash = {"DOCPROC_TEST_CRASH_SHA256": hashlib.sha256(poison.read_bytes()).hexdigest()}
    cluster.start_worker("w1", extra_env=crash, wait=False)
    cluster.start_worker("w2", extra_env=crash, wait=False)
    for w in cluster.workers:
        cluster.wait_ready(w)
    ids = cluster.submit(docs, "--schema", "invoice")

    jobs = {j.source_path: j for j in cluster.wait_jobs(ids, timeout=150)}
    bad = jobs.pop(str(poison.resolve()))
    assert bad.status == "failed" and bad.error_code == "attempts_exhausted"
    assert bad.attempts == bad.max_attempts == 3
    record = json.loads(open(bad.result_path).read())
    assert record["status"] == "error"
    assert record["errors"][0]["code"] == "attempts_exhausted"
    assert all(j.status == "succeeded" and j.attempts == 1 for j in jobs.values())

    waited = cluster.docproc("wait", "--timeout", "10")
    assert waited.returncode == 1 and bad.id in waited.stdout
    assert all(w.proc.poll() is None for w in cluster.workers), "worker parents survive their children"

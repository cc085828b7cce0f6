"""30 documents across two real workers give the same results as embedded mode."""

import json

from docproc import pipeline
from docproc.cli import build_options
from tests.cluster.docgen import make_documents


def _without_timings(result: dict) -> dict:
    return {k: v for k, v in result.items() if k != "timings"}


def test_thirty_documents_on_two_workers_equal_embedded(cluster):
    docs = make_documents(cluster.tmp / "docs", n_pdf=24, n_multi=3, n_scans=3)
    assert len(docs) == 30
    cluster.start_worker("w1", wait=False)
    cluster.start_worker("w2", wait=False)
    for w in cluster.workers:
        cluster.wait_ready(w)
    job_ids = cluster.submit(docs, "--schema", "invoice")
    assert len(set(job_ids)) == 30

    options = build_options("invoice")  # what `docproc submit --schema invoice` builds
    embedded = {str(p.resolve()): pipeline.run(p.resolve(), options).to_json_dict() for p in docs}

    jobs = cluster.wait_jobs(job_ids, timeout=180)
    assert [j.status for j in jobs] == ["succeeded"] * 30
    # The ledger keeps the worker of a job's last step only (reads are short and may all land on
    # one worker while the other OCRs a scan), so count the steps each worker ran from its log.
    for w in cluster.workers:
        assert w.log.read_text(errors="replace").count("] succeeded in ") > 0, f"{w.name} ran no step"
    assert all(j.worker for j in jobs)
    for job in jobs:
        cluster_result = json.loads(open(job.result_path).read())
        assert _without_timings(cluster_result) == _without_timings(embedded[job.source_path]), job.source_path
        assert job.result_writes == 1 and job.attempts == 1
    assert sorted(p.name for p in cluster.out.iterdir()) == sorted(f"{p.stem}.json" for p in docs)

    # Log lines carry ids and paths, never document content.
    logs = "".join(w.log.read_text(errors="replace") for w in cluster.workers)
    numbers = {r["fields"]["invoice_number"]["value"] for r in embedded.values()
               if r["fields"].get("invoice_number")}
    assert numbers and not [n for n in numbers if n in logs]

    # Resubmitting the same files returns the same jobs (idempotency key), nothing re-runs.
    again = cluster.submit(docs[:5], "--schema", "invoice")
    assert again == job_ids[:5]
    assert cluster.docproc("wait", "--timeout", "5").returncode == 0

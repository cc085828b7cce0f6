"""The cluster with its ledger on PostgreSQL (skipped when the server is not reachable)."""

import json

from docproc.ledger import Ledger
from tests.cluster.docgen import make_documents
from tests.cluster.pg import postgres_schema_url


def test_two_workers_with_a_postgres_ledger(cluster):
    with postgres_schema_url() as url:
        cluster.env["DOCPROC_DATABASE_URL"] = url
        cluster.ledger = Ledger(url)
        docs = make_documents(cluster.tmp / "docs", n_pdf=5, n_multi=2, seed=23)
        cluster.start_worker("w1", wait=False)
        cluster.start_worker("w2", wait=False)
        for w in cluster.workers:
            cluster.wait_ready(w)
        ids = cluster.submit(docs, "--schema", "invoice")
        jobs = cluster.wait_jobs(ids, timeout=120)
        assert all(j.status == "succeeded" and j.attempts == 1 and j.result_writes == 1 for j in jobs)
        long_job = next(j for j in jobs if "long-00" in j.source_path)
        assert {n for n in cluster.ledger.steps(long_job.id, 0)} >= {"pages-1-1", "pages-2-2", "pages-3-3"}
        assert json.loads(open(long_job.result_path).read())["document"]["pages"] == 3
        status = cluster.docproc("status")
        assert "succeeded 7" in status.stdout
        for w in cluster.workers:  # before the schema is dropped
            cluster.stop_worker(w)
        cluster.ledger.engine.dispose()

"""A worker with the solo pool (what GPU workers use: no fork after CUDA init) warms its
models once in its own process and completes jobs."""

from tests.cluster.docgen import make_documents


def test_solo_pool_worker_warms_once_and_completes(cluster):
    docs = make_documents(cluster.tmp / "docs", n_pdf=2, n_multi=1, seed=31)
    worker = cluster.start_worker("solo", pool="solo")
    ids = cluster.submit(docs, "--schema", "invoice")
    jobs = cluster.wait_jobs(ids, timeout=60)
    assert all(j.status == "succeeded" for j in jobs)
    assert {int(j.worker.rsplit(":", 1)[1]) for j in jobs} == {worker.proc.pid}  # no pool children
    assert worker.log.read_text().count("models warm") == 1

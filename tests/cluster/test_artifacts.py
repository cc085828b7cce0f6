"""Artifact store: job-keyed JSON, atomic replace, no escaping the root."""

import pytest

from docproc.artifacts import job_key, job_prefix, open_store


@pytest.mark.parametrize("url", ["dir", "memory://docproc-test"])
def test_put_get_overwrite_delete(tmp_path, url):
    store = open_store(tmp_path / "store" if url == "dir" else url)
    key = job_key("ab12", "plan")
    store.put_json(key, {"pages": [1]})
    store.put_json(key, {"pages": [1, 2]})  # a re-run overwrites
    assert store.get_json(key) == {"pages": [1, 2]} and store.exists(key)
    store.delete_prefix(job_prefix("ab12"))
    assert not store.exists(key)


def test_keys_cannot_escape(tmp_path):
    store = open_store(tmp_path)
    with pytest.raises(ValueError):
        job_key("../x", "plan")
    with pytest.raises(ValueError):
        store.put_json("../outside.json", {})
    store.put_json(job_key("cd34", "pages-1-2"), {})
    assert not [p for p in tmp_path.rglob("*.tmp")]

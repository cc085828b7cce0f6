"""The HTTP API against a real uvicorn server with a real client: upload -> poll -> result, auth,
limits, malformed input, idempotency, webhooks, metrics."""

import json
import socket
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
import uvicorn

from docproc import schemas
from docproc.api import webhooks
from tests.api.conftest import KEY_A, KEY_B, MAX_UPLOAD, WEBHOOK_SECRET, auth, free_port, unique_pdf, upload, wait_job


def test_upload_poll_result(server, invoice_pdfs):
    base, _ = server
    path, spec = invoice_pdfs[0]
    r = upload(base, path, schema="invoice")
    assert r.status_code == 202, r.text
    job = r.json()
    assert job["status"] in ("queued", "running") and job["status_url"] == f"/v1/jobs/{job['id']}"
    done = wait_job(base, job["id"])
    assert done["status"] == "succeeded", done
    assert done["progress"] == {"pages_done": 1, "pages_total": 1}
    assert done["schema"] == "invoice" and done["filename"] == path.name
    result = httpx.get(f"{base}{done['result_url']}", headers=auth(), timeout=10)
    assert result.status_code == 200
    body = result.json()
    assert schemas.validate_result(body) == []
    assert body["fields"]["invoice_number"]["normalized"] == spec.invoice_number


def test_auth_missing_bad_and_other_keys_job(server, invoice_pdfs):
    base, _ = server
    path, _ = invoice_pdfs[1]
    with open(path, "rb") as fh:
        r = httpx.post(f"{base}/v1/documents", files={"file": ("x.pdf", fh)}, timeout=10)
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert httpx.get(f"{base}/v1/schemas", headers=auth("not-a-key"), timeout=10).status_code == 401
    assert httpx.get(f"{base}/v1/schemas", headers={"Authorization": KEY_A}, timeout=10).status_code == 401
    job_id = upload(base, path, key=KEY_A).json()["id"]
    assert httpx.get(f"{base}/v1/jobs/{job_id}", headers=auth(KEY_B), timeout=10).status_code == 404
    assert httpx.get(f"{base}/v1/jobs/{job_id}/result", headers=auth(KEY_B), timeout=10).status_code == 404
    assert httpx.get(f"{base}/v1/jobs/{job_id}", headers=auth(KEY_A), timeout=10).status_code == 200
    # The same document from key B is B's own job, not A's.
    other = upload(base, path, key=KEY_B).json()["id"]
    assert other != job_id


def _http_head(port: int, headers: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(f"POST /v1/documents HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {KEY_A}\r\n"
                 f"Content-Type: multipart/form-data; boundary=b\r\n{headers}\r\n".encode())
    return sock


def test_413_declared_length_answered_before_the_body_is_sent(server):
    base, _ = server
    port = int(base.rsplit(":", 1)[1])
    sock = _http_head(port, "Content-Length: 500000000\r\n")
    sock.sendall(b"--b\r\n" + b"x" * 10_000)  # 10 KB of the announced 500 MB
    reply = sock.recv(4096).decode(errors="replace")
    sock.close()
    assert reply.startswith("HTTP/1.1 413"), reply[:100]


def test_413_chunked_body_stopped_at_the_limit(server):
    base, _ = server
    port = int(base.rsplit(":", 1)[1])
    sock = _http_head(port, "Transfer-Encoding: chunked\r\n")
    chunk = b"x" * 262_144
    sent = 0
    head = b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\n\r\n%PDF-1.4\n'
    sock.sendall(f"{len(head):x}\r\n".encode() + head + b"\r\n")
    try:
        while sent < 4 * MAX_UPLOAD:
            sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            sent += len(chunk)
    except (BrokenPipeError, ConnectionResetError):
        pass
    reply = sock.recv(4096).decode(errors="replace")
    sock.close()
    assert reply.startswith("HTTP/1.1 413"), reply[:100]


def test_429_with_retry_after(tmp_path):
    """Its own server (in-process uvicorn) with a burst of 3 requests per key."""
    from docproc.api.app import create_app
    from docproc.api.settings import ApiSettings

    settings = ApiSettings.from_env({}, api_keys=[KEY_A, KEY_B], data_dir=tmp_path, rate_burst=3, rate_per_minute=6)
    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{port}"
        while not srv.started:
            time.sleep(0.05)
        codes = [httpx.get(f"{base}/v1/schemas", headers=auth(KEY_A), timeout=5) for _ in range(4)]
        assert [c.status_code for c in codes] == [200, 200, 200, 429]
        assert int(codes[-1].headers["retry-after"]) >= 1
        assert httpx.get(f"{base}/v1/schemas", headers=auth(KEY_B), timeout=5).status_code == 200  # per key
        assert 'docproc_requests_rejected_total{reason="rate"} 1.0' in httpx.get(f"{base}/metrics").text
    finally:
        srv.should_exit = True
        thread.join(10)


@pytest.mark.parametrize("content_type, body", [
    ("multipart/form-data", b"--x\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nabc"),
    ("multipart/form-data; boundary=zz", b"--zz\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a"),
    ("multipart/form-data; boundary=zz", b"garbage without any boundary"),
    ("multipart/form-data; boundary=zz", b"--zz\r\nContent-Disposition: form-data\r\n\r\nv\r\n--zz--\r\n"),
    ("multipart/form-data; boundary=zz", b"--zz\r\n\xff\xfe\x00\r\n\r\n--zz--"),
    ("application/json", b'{"file": "x"}'),
    ("text/plain", b"\x00\x01\x02"),
])
def test_malformed_multipart_is_4xx(server, content_type, body):
    base, _ = server
    r = httpx.post(f"{base}/v1/documents", headers={**auth(), "Content-Type": content_type}, content=body,
                   timeout=10)
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:200])


def test_unsupported_file_and_unknown_schema(server, tmp_path):
    base, _ = server
    txt = tmp_path / "notes.txt"
    txt.write_text("just text")
    assert upload(base, txt).status_code == 415
    pdf = tmp_path / "a.pdf"
    pdf.write_bytes(b"%PDF-1.4\n%%EOF\n")
    assert upload(base, pdf, schema="/etc/passwd").status_code == 422  # built-in names only
    assert upload(base, pdf, callback_url="ftp://x").status_code == 422


def test_idempotency_key_returns_the_same_job(server, invoice_specs, tmp_path):
    base, _ = server
    first = unique_pdf(tmp_path, invoice_specs[5], "one.pdf")
    second = unique_pdf(tmp_path, invoice_specs[6], "two.pdf")
    key = uuid.uuid4().hex
    a = upload(base, first, idempotency_key=key)
    b = upload(base, second, idempotency_key=key)  # a retried request: same key, same job
    assert a.status_code == b.status_code == 202
    assert a.json()["id"] == b.json()["id"] and a.json()["created"] and not b.json()["created"]
    c = upload(base, first)  # no key: a job of its own; then same content, schema and options -> same job
    assert c.json()["id"] != a.json()["id"] and c.json()["created"]
    d = upload(base, first)
    assert d.json()["id"] == c.json()["id"] and not d.json()["created"]


class _Receiver(BaseHTTPRequestHandler):
    deliveries: list = []
    fail_first = True

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).deliveries.append((dict(self.headers), body))
        failing = type(self).fail_first and len(type(self).deliveries) == 1
        self.send_response(500 if failing else 204)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_webhook_signed_and_retried_after_a_failure(server, invoice_specs, tmp_path):
    base, _ = server
    _Receiver.deliveries = []
    receiver = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    try:
        pdf = unique_pdf(tmp_path, invoice_specs[7], "hook.pdf")
        url = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
        job_id = upload(base, pdf, schema="invoice", callback_url=url).json()["id"]
        wait_job(base, job_id)
        deadline = time.monotonic() + 20
        while len(_Receiver.deliveries) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        receiver.shutdown()
    assert len(_Receiver.deliveries) == 2, "first delivery failed (500), the retry must arrive"
    (h1, b1), (h2, b2) = _Receiver.deliveries
    assert b1 == b2 and h1["Docproc-Delivery"] == h2["Docproc-Delivery"]
    for headers, body in _Receiver.deliveries:
        assert webhooks.verify(WEBHOOK_SECRET, headers["Docproc-Signature"], body)
        assert not webhooks.verify("wrong-secret", headers["Docproc-Signature"], body)
    payload = json.loads(b2)
    assert payload["event"] == "job.finished"
    assert payload["job"]["id"] == job_id and payload["job"]["status"] == "succeeded"
    assert "fields" not in json.dumps(payload)  # a summary: ids and codes, no document content


def test_schemas_health_and_metrics(server, invoice_pdfs):
    base, _ = server
    names = {s["name"] for s in httpx.get(f"{base}/v1/schemas", headers=auth(), timeout=10).json()}
    assert {"invoice", "receipt", "nda", "cms1500"} <= names
    assert httpx.get(f"{base}/healthz").json() == {"status": "ok", "mode": "embedded"}
    job_id = upload(base, invoice_pdfs[2][0], schema="invoice").json()["id"]
    wait_job(base, job_id)
    text = httpx.get(f"{base}/metrics").text
    assert 'docproc_jobs{status="succeeded"}' in text
    pages = [line for line in text.splitlines() if line.startswith("docproc_pages_processed_total")]
    assert pages and float(pages[0].split()[-1]) >= 1
    assert 'docproc_stage_seconds_count{stage="reader"}' in text

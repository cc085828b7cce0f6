"""The endpoint reader against a local OpenAI-compatible server started here (127.0.0.1)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from conftest import make_doc, make_page
from PIL import Image

from docproc.errors import DocprocError
from docproc.options import ReaderOptions
from docproc.readers.endpoint import EndpointGenerator, EndpointReader
from docproc.readers.vlm import Prompt
from docproc.schemas import FieldSpec, Schema

TOTAL = FieldSpec(name="total", type="money", query="the total amount payable", labels=["total"])
SCHEMA = Schema(name="mini", fields=[TOTAL])


class FakeOpenAI:
    """Canned chat completions; `script` is a list of ("status"|"sleep", value) per request."""

    def __init__(self, script, content='{"total": "EUR 53,55"}'):
        self.script = list(script)
        self.content = content
        self.bodies = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with outer.lock:
                    outer.bodies.append((self.path, body))
                    step = outer.script.pop(0) if outer.script else ("status", 200)
                    outer.in_flight += 1
                    outer.max_in_flight = max(outer.max_in_flight, outer.in_flight)
                try:
                    if step[0] == "sleep":
                        time.sleep(step[1])
                    status = step[1] if step[0] == "status" else 200
                    reply = {"choices": [{"message": {"role": "assistant", "content": outer.content},
                                          "logprobs": {"content": [{"token": "x", "logprob": -0.1}]}}],
                             "usage": {"completion_tokens": 9}}
                    data = json.dumps(reply if status == 200 else {"error": "boom"}).encode()
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                finally:
                    with outer.lock:
                        outer.in_flight -= 1

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def server_factory():
    made = []

    def make(*args, **kwargs):
        made.append(FakeOpenAI(*args, **kwargs))
        return made[-1]

    yield make
    for s in made:
        s.close()


def options(url, **kw):
    return ReaderOptions(kind="endpoint", endpoint_url=url, endpoint_model="qwen2-vl-test", **kw)


def test_reader_retries_after_500_and_grounds_the_answer(server_factory, monkeypatch):
    monkeypatch.setattr("docproc.readers.vlm.rules_baseline", lambda doc, schema: None)
    server = server_factory([("status", 500)])
    reader = EndpointReader(options(server.url, vlm_max_pixels=0))
    reader._generator = EndpointGenerator(reader.options, backoff_s=0.01)
    doc = make_doc([make_page(1, [(0.5, 0.8, "Total due EUR 53,55")])])
    out = reader.read(doc, SCHEMA)
    assert len(server.bodies) == 2  # the 500, then the retry
    path, body = server.bodies[-1]
    assert path == "/v1/chat/completions" and body["model"] == "qwen2-vl-test"
    assert body["response_format"]["json_schema"]["schema"]["required"] == ["total"]
    total = out.fields["total"]
    assert total.normalized == "53.55" and total.page == 1 and total.bbox is not None
    assert total.confidence == pytest.approx(0.905, abs=0.01)  # exp(-0.1) x grounded 1.0


def test_image_goes_as_png_data_url_and_concurrency_is_capped(server_factory):
    server = server_factory([("sleep", 0.2)] * 6)
    gen = EndpointGenerator(options(server.url, endpoint_concurrency=2))
    img = Image.new("RGB", (40, 30), "white")
    replies = gen.generate([Prompt(text=f"page {i}", fields=[TOTAL], image=img) for i in range(6)])
    assert [r.text for r in replies] == ['{"total": "EUR 53,55"}'] * 6
    assert server.max_in_flight == 2
    content = server.bodies[0][1]["messages"][1]["content"]
    assert content[0]["image_url"]["url"].startswith("data:image/png;base64,")


def test_timeouts_exhaust_retries_with_a_clear_error(server_factory):
    server = server_factory([("sleep", 1.0)] * 3)
    gen = EndpointGenerator(options(server.url, endpoint_timeout_s=0.2, endpoint_retries=1), backoff_s=0.01)
    t0 = time.perf_counter()
    with pytest.raises(DocprocError) as err:
        gen.generate([Prompt(text="p", fields=[TOTAL])])
    assert err.value.code == "endpoint_unavailable" and "2 attempts" in err.value.message
    assert time.perf_counter() - t0 < 3


def test_client_errors_are_not_retried(server_factory):
    server = server_factory([("status", 400)])
    gen = EndpointGenerator(options(server.url), backoff_s=0.01)
    with pytest.raises(DocprocError) as err:
        gen.generate([Prompt(text="p", fields=[TOTAL])])
    assert err.value.code == "endpoint_error" and len(server.bodies) == 1

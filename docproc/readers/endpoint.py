"""`--reader endpoint`: the same prompts, parsing and grounding as the local VLM, sent to an
OpenAI-compatible chat-completions server (vLLM, TGI, Ollama, ...) with the page image inline.

httpx with a per-request timeout, retries with exponential backoff on timeouts, connection errors,
429 and 5xx, and a thread pool that caps the requests in flight. The server is asked for JSON
(`response_format` json_schema, which vLLM and others enforce); the reply is parsed strictly
anyway and gets one repair round like the local model's.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from docproc.errors import DocprocError
from docproc.options import ReaderOptions
from docproc.readers import parsing, prompt
from docproc.readers.vlm import Prompt, Reply, VlmReader

log = logging.getLogger(__name__)
_RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}


def image_data_url(image) -> str:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def chat_messages(p: Prompt) -> list[dict]:
    content: list[dict] = []
    if p.image is not None:
        content.append({"type": "image_url", "image_url": {"url": image_data_url(p.image)}})
    content.append({"type": "text", "text": p.text})
    messages = [{"role": "system", "content": prompt.SYSTEM_TEXT}, {"role": "user", "content": content}]
    messages += [{"role": role, "content": text} for role, text in p.history]
    return messages


class EndpointGenerator:
    """Generator over an OpenAI-compatible `/chat/completions` endpoint."""

    def __init__(self, options: ReaderOptions, backoff_s: float = 0.5):
        if not options.endpoint_url or not options.endpoint_model:
            raise DocprocError("reader", "endpoint_missing", "reader endpoint needs --endpoint-url and --endpoint-model")
        url = options.endpoint_url.rstrip("/")
        self.url = url if url.endswith("/chat/completions") else url + "/chat/completions"
        self.model = options.endpoint_model
        self.options = options
        self.backoff_s = backoff_s
        headers = {}
        key = os.environ.get(options.endpoint_api_key_env) if options.endpoint_api_key_env else None
        if key:
            headers["Authorization"] = f"Bearer {key}"
        self.client = httpx.Client(timeout=options.endpoint_timeout_s, headers=headers,
                                   limits=httpx.Limits(max_connections=max(1, options.endpoint_concurrency)))

    def _body(self, p: Prompt) -> dict:
        return {
            "model": self.model,
            "messages": chat_messages(p),
            "temperature": 0,
            "max_tokens": min(self.options.vlm_max_new_tokens, len(p.fields) * 48 + 8),
            "logprobs": True,
            "response_format": {"type": "json_schema", "json_schema": {
                "name": "fields", "strict": True, "schema": parsing.answer_schema(p.fields)}},
        }

    def _post(self, body: dict) -> dict:
        last = "no attempt"
        for attempt in range(self.options.endpoint_retries + 1):
            if attempt:
                time.sleep(self.backoff_s * 2 ** (attempt - 1))
            try:
                resp = self.client.post(self.url, json=body)
            except httpx.TransportError as exc:  # timeouts and connection errors
                last = type(exc).__name__
                continue
            if resp.status_code in _RETRY_STATUS:
                last = f"HTTP {resp.status_code}"
                continue
            if resp.status_code >= 400:
                raise DocprocError("reader", "endpoint_error", f"{self.url} answered HTTP {resp.status_code}")
            try:
                return resp.json()
            except json.JSONDecodeError:
                raise DocprocError("reader", "endpoint_error", f"{self.url} answered non-JSON") from None
        raise DocprocError("reader", "endpoint_unavailable",
                           f"{self.url}: {self.options.endpoint_retries + 1} attempts failed, last {last}")

    def _one(self, p: Prompt) -> Reply:
        data = self._post(self._body(p))
        try:
            choice = data["choices"][0]
            text = choice["message"]["content"] or ""
        except (KeyError, IndexError, TypeError):
            raise DocprocError("reader", "endpoint_error", f"{self.url}: reply without choices/message") from None
        return Reply(text=text, token_prob=_token_prob(choice), tokens=int(data.get("usage", {}).get("completion_tokens", 0) or 0))

    def generate(self, prompts: list[Prompt]) -> list[Reply]:
        with ThreadPoolExecutor(max_workers=max(1, self.options.endpoint_concurrency)) as pool:
            return list(pool.map(self._one, prompts))


def _token_prob(choice: dict) -> float:
    """Geometric mean token probability from OpenAI-style logprobs; 1.0 when the server sends none."""
    import math

    items = ((choice.get("logprobs") or {}).get("content")) or []
    lps = [it.get("logprob") for it in items if isinstance(it, dict) and it.get("logprob") is not None]
    if not lps:
        return 1.0
    return round(math.exp(sum(lps) / len(lps)), 4)


class EndpointReader(VlmReader):
    name = "endpoint"

    @property
    def generator(self):
        if self._generator is None:
            self._generator = EndpointGenerator(self.options)
        return self._generator

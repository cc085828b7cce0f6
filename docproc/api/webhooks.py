"""Completion webhooks: POST the job summary (ids, status, codes; never document content) to the
job's callback_url, signed with HMAC-SHA256, retried with exponential backoff on a background
thread so a slow or dead receiver never holds up the pipeline.

Signature header (Stripe-style, so receivers can reject replays by the timestamp):

    Docproc-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + raw body)>
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
import itertools
import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Callable

import httpx

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "Docproc-Signature"
DELIVERY_HEADER = "Docproc-Delivery"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret: str, header: str, body: bytes, tolerance_s: float = 300, now: float | None = None) -> bool:
    """What a receiver does: recompute the HMAC and check the timestamp is recent."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (ValueError, KeyError):
        return False
    if abs((now or time.time()) - timestamp) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), header)


@dataclass(order=True)
class _Delivery:
    due: float
    seq: int
    url: str = field(compare=False)
    body: bytes = field(compare=False)
    delivery_id: str = field(compare=False)
    attempt: int = field(compare=False, default=1)


class WebhookSender:
    def __init__(self, secret: str, attempts: int = 5, backoff_s: float = 2.0, timeout_s: float = 10.0,
                 on_outcome: Callable[[str], None] | None = None):
        self.secret = secret
        self.attempts = attempts
        self.backoff_s = backoff_s
        self.timeout_s = timeout_s
        self.on_outcome = on_outcome or (lambda outcome: None)
        self._heap: list[_Delivery] = []
        self._seq = itertools.count()
        self._cv = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._loop, name="docproc-webhooks", daemon=True)
        self._thread.start()

    def send(self, url: str, payload: dict) -> None:
        """Queue a delivery and return at once."""
        body = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
        with self._cv:
            heapq.heappush(self._heap, _Delivery(time.monotonic(), next(self._seq), url, body, uuid.uuid4().hex))
            self._cv.notify()

    def close(self, wait_s: float = 2.0) -> None:
        with self._cv:
            self._stopping = True
            self._cv.notify()
        self._thread.join(wait_s)

    def _next_due(self) -> _Delivery | None:
        with self._cv:
            while not self._stopping:
                if self._heap and self._heap[0].due <= time.monotonic():
                    return heapq.heappop(self._heap)
                timeout = self._heap[0].due - time.monotonic() if self._heap else None
                self._cv.wait(timeout)
            return None

    def _loop(self) -> None:
        with httpx.Client(timeout=self.timeout_s, follow_redirects=False) as client:
            while (item := self._next_due()) is not None:
                self._deliver(client, item)

    def _deliver(self, client: httpx.Client, item: _Delivery) -> None:
        headers = {"Content-Type": "application/json", DELIVERY_HEADER: item.delivery_id,
                   SIGNATURE_HEADER: sign(self.secret, int(time.time()), item.body)}
        try:
            ok = client.post(item.url, content=item.body, headers=headers).is_success
        except httpx.HTTPError:
            ok = False
        if ok:
            self.on_outcome("delivered")
            return
        if item.attempt >= self.attempts:
            log.warning("webhook %s abandoned after %d attempts", item.delivery_id, item.attempt)
            self.on_outcome("abandoned")
            return
        self.on_outcome("retried")
        item.due = time.monotonic() + self.backoff_s * 2 ** (item.attempt - 1)
        item.attempt += 1
        with self._cv:
            heapq.heappush(self._heap, item)

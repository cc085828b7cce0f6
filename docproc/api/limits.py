"""Request limits: upload size (413 before the body is read), requests per key (429 with
Retry-After). Pages per document are enforced by the pipeline's own Limits (too_many_pages)."""

from __future__ import annotations

import json
import math
import threading
import time

from fastapi import HTTPException


class RateLimiter:
    """A token bucket per key: `burst` requests at once, refilled at `per_minute`."""

    def __init__(self, per_minute: int, burst: int, clock=time.monotonic):
        self.rate = per_minute / 60.0
        self.burst = max(1, burst)
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, last time)
        self._lock = threading.Lock()

    def retry_after(self, key: str) -> int:
        """0 when the request may go on (a token is taken), else whole seconds to wait."""
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return 0
            self._buckets[key] = (tokens, now)
            return max(1, math.ceil((1.0 - tokens) / self.rate)) if self.rate > 0 else 3600

    def check(self, key: str) -> None:
        wait = self.retry_after(key)
        if wait:
            raise HTTPException(status_code=429, detail="too many requests for this API key",
                                headers={"Retry-After": str(wait)})


def _too_large(limit: int) -> HTTPException:
    return HTTPException(status_code=413, detail=f"upload larger than {limit} bytes")


class BodySizeLimit:
    """ASGI middleware: refuses a body over `max_bytes` without reading it.

    A declared Content-Length over the limit is answered 413 at once; a chunked body is counted
    as it arrives and stopped at the limit (FastAPI turns the HTTPException into the 413)."""

    def __init__(self, app, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None:
            try:
                size = int(declared)
            except ValueError:
                return await _reply(send, 400, "invalid Content-Length")
            if size > self.max_bytes:
                return await _reply(send, 413, f"upload larger than {self.max_bytes} bytes")
        received = 0
        started = False

        async def counted_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _too_large(self.max_bytes)
            return message

        async def tracked_send(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except HTTPException as exc:
            if exc.status_code != 413 or started:
                raise
            await _reply(send, 413, exc.detail)


async def _reply(send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})

"""Server settings, read from the environment in ONE place (`from_env`) and passed down."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path


def _keys_from(env_value: str | None, keys_file: str | None) -> list[str]:
    keys = [k.strip() for k in (env_value or "").split(",") if k.strip()]
    if keys_file:
        for line in Path(keys_file).read_text(encoding="utf-8").splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                keys.append(line)
    return keys


@dataclass
class ApiSettings:
    api_keys: list[str] = field(default_factory=list)  # plaintext only until KeyStore hashes them
    data_dir: Path = Path("docproc-data")  # uploads/, results/, ledger.sqlite
    ledger_url: str | None = None  # default: sqlite under data_dir
    broker_url: str | None = None  # set: enqueue to the cluster (Celery) instead of the local pool
    workers: int = 1  # embedded pool size
    max_upload_bytes: int = 50 * 1024 * 1024
    max_pages: int = 200
    rate_per_minute: int = 120  # requests per key
    rate_burst: int = 30
    webhook_secret: str = ""
    webhook_attempts: int = 5
    webhook_backoff_s: float = 2.0  # doubled after each failed delivery
    webhook_timeout_s: float = 10.0
    job_timeout_s: float = 900.0

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides) -> "ApiSettings":
        env = dict(os.environ if env is None else env)
        s = cls(
            api_keys=_keys_from(env.get("DOCPROC_API_KEYS"), env.get("DOCPROC_API_KEYS_FILE")),
            data_dir=Path(env.get("DOCPROC_DATA_DIR", "docproc-data")),
            # The workers' variable, so API and cluster share one ledger by default.
            ledger_url=env.get("DOCPROC_LEDGER_URL") or env.get("DOCPROC_DATABASE_URL") or None,
            broker_url=env.get("DOCPROC_BROKER_URL") or None,
            webhook_secret=env.get("DOCPROC_WEBHOOK_SECRET", ""),
        )
        for name, value in (
            ("workers", env.get("DOCPROC_API_WORKERS")),
            ("max_upload_bytes", env.get("DOCPROC_MAX_UPLOAD_BYTES")),
            ("max_pages", env.get("DOCPROC_MAX_PAGES")),
            ("rate_per_minute", env.get("DOCPROC_RATE_PER_MINUTE")),
            ("rate_burst", env.get("DOCPROC_RATE_BURST")),
            ("webhook_backoff_s", env.get("DOCPROC_WEBHOOK_BACKOFF_S")),
        ):
            if value:
                setattr(s, name, type(getattr(s, name))(value))
        for name, value in overrides.items():
            if value is not None:
                setattr(s, name, value)
        if not s.webhook_secret:
            # Signed anyway, but receivers cannot verify: say so at start-up (cli_entry does).
            s.webhook_secret = secrets.token_hex(32)
        return s

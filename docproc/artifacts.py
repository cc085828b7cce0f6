"""Artifact store for intermediate JSON (sniffed source, processed pages) between pipeline
steps that run in different processes or machines.

Keys are derived from the job id (``jobs/<job id>/pages-1-8.json``), so a re-run overwrites
instead of piling up copies. Default: a directory every worker can see (a shared volume).
Any URL with a scheme (``s3://bucket/prefix``, ``gs://``, ``memory://``) goes through fsspec;
S3 needs the ``s3fs`` package installed.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Protocol


class ArtifactStore(Protocol):
    def put_json(self, key: str, obj: Any) -> None: ...

    def get_json(self, key: str) -> Any: ...

    def exists(self, key: str) -> bool: ...

    def delete_prefix(self, prefix: str) -> None: ...


def job_key(job_id: str, name: str) -> str:
    """The key of artifact `name` of a job; ids are hex, so keys are safe path parts."""
    if not job_id.isalnum() or "/" in name or name.startswith("."):
        raise ValueError("artifact keys take a hex job id and a plain name")
    return f"jobs/{job_id}/{name}.json"


def job_prefix(job_id: str) -> str:
    return f"jobs/{job_id}/"


class LocalArtifactStore:
    """A directory; writes go to a temp file and are renamed into place (atomic on POSIX)."""

    def __init__(self, root: str | Path):
        self.root = Path(root).expanduser().resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root):
            raise ValueError("artifact key escapes the store root")
        return path

    def put_json(self, key: str, obj: Any) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            # json.dumps, not json.dump: only the one-shot call uses the C encoder.
            data = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
            with os.fdopen(fd, "w") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get_json(self, key: str) -> Any:
        with open(self._path(key)) as fh:
            return json.load(fh)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete_prefix(self, prefix: str) -> None:
        shutil.rmtree(self._path(prefix), ignore_errors=True)


class FsspecArtifactStore:
    """Object stores through fsspec (one object per key; a PUT replaces it whole)."""

    def __init__(self, url: str):
        import fsspec  # only needed for remote stores

        self.fs, root = fsspec.core.url_to_fs(url)
        self.root = root.rstrip("/")

    def _path(self, key: str) -> str:
        if ".." in key.split("/"):
            raise ValueError("artifact key escapes the store root")
        return f"{self.root}/{key}"

    def put_json(self, key: str, obj: Any) -> None:
        data = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()
        self.fs.pipe_file(self._path(key), data)

    def get_json(self, key: str) -> Any:
        return json.loads(self.fs.cat_file(self._path(key)))

    def exists(self, key: str) -> bool:
        return self.fs.exists(self._path(key))

    def delete_prefix(self, prefix: str) -> None:
        path = self._path(prefix).rstrip("/")
        if self.fs.exists(path):
            self.fs.rm(path, recursive=True)


def open_store(url: str | Path) -> ArtifactStore:
    """A directory path (or ``file://`` URL) -> LocalArtifactStore; other schemes -> fsspec."""
    text = str(url)
    if text.startswith("file://"):
        return LocalArtifactStore(text[len("file://"):])
    if "://" in text:
        return FsspecArtifactStore(text)
    return LocalArtifactStore(text)

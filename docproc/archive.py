"""Safe extraction of the nightly archives (.zip, .tar, .tar.gz/.bz2/.xz).

An archive is refused as a whole, before anything is written, when any member could escape
the destination (absolute path, `..`, drive letter), is anything but a regular file or folder
(symlink, hard link, device, FIFO), repeats a name, or when the member count or declared sizes
pass the caps. While extracting, bytes are counted as they are written, so an archive that lies
about its sizes (a zip bomb) stops at the cap too. The type is decided by content, not by name.
"""

from __future__ import annotations

import shutil
import stat
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Iterator

from docproc.errors import DocprocError

_CHUNK = 1 << 20


@dataclass(frozen=True)
class ArchiveLimits:
    max_members: int = 10_000
    max_member_bytes: int = 200 * 1024 * 1024
    max_total_bytes: int = 4 * 1024 * 1024 * 1024


@dataclass
class _Member:
    name: str  # as stored
    is_dir: bool
    size: int  # declared
    ref: object  # ZipInfo or TarInfo


def archive_kind(path: str | Path) -> str | None:
    """"zip", "tar" or None (not an archive we open), by magic bytes."""
    path = Path(path)
    if not path.is_file():
        return None
    with open(path, "rb") as fh:
        head = fh.read(4)
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return "zip"
    try:
        return "tar" if tarfile.is_tarfile(path) else None
    except (OSError, EOFError, tarfile.TarError):
        return None


def _refuse(code: str, message: str) -> DocprocError:
    return DocprocError("archive", code, message)


def safe_member_path(name: str) -> PurePosixPath:
    """The relative path a member may be written to, or DocprocError(archive_path_traversal)."""
    if "\x00" in name:
        raise _refuse("archive_path_traversal", "member name with a NUL byte")
    cleaned = name.replace("\\", "/")
    rel = PurePosixPath(cleaned)
    first = rel.parts[0] if rel.parts else ""
    if rel.is_absolute() or ".." in rel.parts or (len(first) >= 2 and first[1] == ":"):
        raise _refuse("archive_path_traversal", f"member {len(name)}-char name leaves the destination")
    parts = [p for p in rel.parts if p not in ("", ".")]
    if not parts:
        raise _refuse("archive_path_traversal", "member with an empty name")
    return PurePosixPath(*parts)


def _zip_members(zf: zipfile.ZipFile) -> Iterator[_Member]:
    for info in zf.infolist():
        kind = stat.S_IFMT(info.external_attr >> 16)  # 0: no Unix type recorded (a plain file)
        if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
            raise _refuse("archive_unsafe_member", "member is a link or special file")
        yield _Member(info.filename, info.is_dir(), info.file_size, info)


def _tar_members(tf: tarfile.TarFile) -> Iterator[_Member]:
    for info in tf.getmembers():
        if not (info.isreg() or info.isdir()):
            raise _refuse("archive_unsafe_member", "member is a link, device or special file")
        yield _Member(info.name, info.isdir(), info.size, info)


def _check(members: list[_Member], limits: ArchiveLimits) -> None:
    if len(members) > limits.max_members:
        raise _refuse("archive_too_many_members", f"{len(members)} members > {limits.max_members}")
    seen: set[PurePosixPath] = set()
    total = 0
    for m in members:
        rel = safe_member_path(m.name)
        if not m.is_dir:
            if rel in seen:
                raise _refuse("archive_duplicate_member", "two members share one path")
            seen.add(rel)
        if m.size > limits.max_member_bytes:
            raise _refuse("archive_too_large", f"member of {m.size} bytes > {limits.max_member_bytes}")
        total += m.size
    if total > limits.max_total_bytes:
        raise _refuse("archive_too_large", f"{total} bytes unpacked > {limits.max_total_bytes}")


def _copy_capped(src: IO[bytes], dst: IO[bytes], member_cap: int, budget: int) -> int:
    """Copy at most min(member_cap, budget) bytes; more means the archive lied about sizes."""
    cap = min(member_cap, budget)
    written = 0
    while chunk := src.read(_CHUNK):
        written += len(chunk)
        if written > cap:
            raise _refuse("archive_too_large", f"member unpacks past {cap} bytes")
        dst.write(chunk)
    return written


def extract_archive(archive: str | Path, dest: str | Path, limits: ArchiveLimits | None = None) -> list[Path]:
    """Extract `archive` into `dest` (created) and return the regular files written, sorted.

    Raises DocprocError(stage="archive") when the archive is refused or unreadable; a refused
    archive leaves `dest` without any of its members."""
    limits = limits or ArchiveLimits()
    archive, dest = Path(archive), Path(dest)
    kind = archive_kind(archive)
    if kind is None:
        raise _refuse("archive_unsupported", f"{archive.name}: not a zip or tar archive")
    try:
        opened = zipfile.ZipFile(archive) if kind == "zip" else tarfile.open(archive, mode="r:*")
    except (zipfile.BadZipFile, tarfile.TarError, OSError, EOFError) as exc:
        raise _refuse("archive_corrupt", f"{archive.name}: {type(exc).__name__}")
    with opened as handle:
        try:
            members = list(_zip_members(handle) if kind == "zip" else _tar_members(handle))
        except (zipfile.BadZipFile, tarfile.TarError, OSError, EOFError) as exc:
            raise _refuse("archive_corrupt", f"{archive.name}: {type(exc).__name__}")
        _check(members, limits)
        dest.mkdir(parents=True, exist_ok=True)
        root = dest.resolve()
        written: list[Path] = []
        budget = limits.max_total_bytes
        try:
            for m in members:
                target = root.joinpath(*safe_member_path(m.name).parts)
                if not target.resolve().is_relative_to(root):  # a pre-existing symlink in dest
                    raise _refuse("archive_path_traversal", "member resolves outside the destination")
                if m.is_dir:
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                src = handle.open(m.ref) if kind == "zip" else handle.extractfile(m.ref)
                with src, open(target, "wb") as out:
                    budget -= _copy_capped(src, out, limits.max_member_bytes, budget)
                written.append(target)
        except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as exc:
            _remove(written)
            raise _refuse("archive_corrupt", f"{archive.name}: {type(exc).__name__}")
        except DocprocError:
            _remove(written)
            raise
    return sorted(written)


def _remove(paths: list[Path]) -> None:
    for p in paths:
        p.unlink(missing_ok=True)


def unpack_once(archive: str | Path, work_dir: str | Path, content_id: str,
                limits: ArchiveLimits | None = None) -> Path:
    """Extract into work_dir/<content_id>/ unless a finished extraction is already there.

    Keyed by the archive's content hash so a rerun of a killed batch finds the same paths
    (and so the same result names); a marker file tells a complete extraction from a torn one."""
    target = Path(work_dir) / content_id
    marker = target / ".extracted"
    if marker.is_file():
        return target
    if target.exists():
        shutil.rmtree(target)
    extract_archive(archive, target, limits)
    marker.write_text("ok\n")
    return target

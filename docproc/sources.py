"""Input sniffing: what a file is (by its bytes, never its name), its hash, size and page count,
and the limits that stop hostile input before any decoding starts.

Anything that parses the file (pdfium, poppler's pdfinfo, Pillow) runs in a capped child
process (docproc.sandbox), so a file that hangs or crashes a parser ends as a coded error.
"""

from __future__ import annotations

import hashlib
import re
import warnings
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from PIL import Image

from docproc import sandbox
from docproc.document import SourceInfo
from docproc.errors import DocprocError
from docproc.options import Limits

_HEAD_BYTES = 1024
# Parsing a header or a PDF's page tree takes milliseconds; anything slower is hostile.
PROBE_TIMEOUT_S = 15.0
MIME = {
    "pdf": "application/pdf", "png": "image/png", "jpeg": "image/jpeg", "tiff": "image/tiff",
    "webp": "image/webp", "gif": "image/gif", "bmp": "image/bmp",
}
_HEADERLESS_PDF = re.compile(rb"\d+\s+\d+\s+obj\s*<<|trailer\s*<<")
_PIL_FORMATS = {"PNG": "png", "JPEG": "jpeg", "MPO": "jpeg", "TIFF": "tiff", "WEBP": "webp",
                "GIF": "gif", "BMP": "bmp"}


def _fail(code: str, message: str) -> DocprocError:
    return DocprocError("sources", code, message)


def detect_kind(head: bytes) -> str | None:
    """The file type from its first bytes. Image signatures sit at offset 0; PDF readers
    accept ``%PDF`` anywhere in the first 1024 bytes (junk before it, polyglots)."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):  # classic and BigTIFF
        return "tiff"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:2] == b"BM" and len(head) >= 26:
        return "bmp"
    if b"%PDF" in head[:_HEAD_BYTES]:  # pdfium's own test; some readable files lack the dash
        return "pdf"
    if _HEADERLESS_PDF.search(head):  # no header at all, but poppler rebuilds many of these
        return "pdf"
    return None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sniff(path: str, limits: Limits) -> SourceInfo:
    """Identify `path` and check it against `limits`. Raises DocprocError("sources", code, ...)."""
    p = Path(path)
    try:
        st = p.stat()
    except (FileNotFoundError, NotADirectoryError):
        raise _fail("not_found", f"{path}: no such file") from None
    if not p.is_file():
        raise _fail("not_found", f"{path}: not a regular file")
    if st.st_size == 0:
        raise _fail("empty_file", f"{path}: 0 bytes")
    if st.st_size > limits.max_file_bytes:
        raise _fail("file_too_large", f"{path}: {st.st_size} bytes > limit {limits.max_file_bytes}")
    with p.open("rb") as fh:
        head = fh.read(_HEAD_BYTES)
    kind = detect_kind(head)
    if kind is None:
        raise _fail("unsupported_type", f"{path}: not a PDF, PNG, JPEG, TIFF, WEBP, GIF or BMP")
    encrypted = False
    if kind == "pdf":
        page_count, encrypted = pdf_page_count(path, limits)
    else:
        page_count = image_page_count(path, kind, limits)
    if page_count > limits.max_pages:
        raise _fail("too_many_pages", f"{path}: {page_count} pages > limit {limits.max_pages}")
    return SourceInfo(
        path=str(path), kind=kind, mime=MIME[kind], sha256=_sha256(p), size=st.st_size,
        page_count=page_count, encrypted=encrypted,
    )


# --- PDF -------------------------------------------------------------------------------------

def _pdfium_probe(path: str) -> tuple[str, int, bool]:
    """(status, pages, encrypted); status is "ok", "password" or "error:<pdfium code>"."""
    try:
        doc = pdfium.PdfDocument(path)
    except pdfium.PdfiumError as exc:
        if exc.err_code == pdfium_c.FPDF_ERR_PASSWORD:
            return "password", 0, True
        return f"error:{exc.err_code}", 0, False
    try:
        encrypted = pdfium_c.FPDF_GetSecurityHandlerRevision(doc) != -1
        return "ok", len(doc), encrypted
    finally:
        doc.close()


_PAGES_RE = re.compile(rb"^Pages:\s+(\d+)", re.M)
_ENCRYPTED_RE = re.compile(rb"^Encrypted:\s+yes", re.M)


def _poppler_probe(path: str, limits: Limits) -> tuple[str, int, bool]:
    """The same answer from poppler's pdfinfo, which opens some files pdfium cannot."""
    try:
        done = sandbox.run_command(
            ["pdfinfo", "--", path], timeout_s=PROBE_TIMEOUT_S,
            memory_mb=min(limits.worker_memory_mb, 1024),
        )
    except sandbox.SandboxTimeout:
        return "timeout", 0, False
    if b"Incorrect password" in done.stderr:
        return "password", 0, True
    match = _PAGES_RE.search(done.stdout)
    if done.returncode != 0 or not match:
        return f"exit:{done.returncode}", 0, False
    return "ok", int(match.group(1)), bool(_ENCRYPTED_RE.search(done.stdout))


def pdf_page_count(path: str, limits: Limits) -> tuple[int, bool]:
    """(pages, encrypted) from pdfium, else poppler. A file that opens without a password
    (owner-password/permission-only encryption) is fine; one that needs a password is not."""
    try:
        status, pages, encrypted = sandbox.call_in_child(
            _pdfium_probe, path, timeout_s=PROBE_TIMEOUT_S, memory_mb=limits.worker_memory_mb
        )
    except sandbox.SandboxError as exc:
        status, pages, encrypted = f"pdfium {type(exc).__name__}", 0, False
    if status == "ok" and pages > 0:
        return pages, encrypted
    p_status, p_pages, p_encrypted = _poppler_probe(path, limits)
    if p_status == "ok" and p_pages > 0:
        return p_pages, p_encrypted
    if "password" in (status, p_status):
        raise _fail("encrypted_pdf", f"{path}: a password is needed to open it")
    if status == "ok" or p_status == "ok":
        raise _fail("corrupt_pdf", f"{path}: no pages")
    raise _fail("corrupt_pdf", f"{path}: unreadable (pdfium {status}, pdfinfo {p_status})")


# --- images ----------------------------------------------------------------------------------

def check_pixels(width: int, height: int, limits: Limits, where: str, stage: str = "sources") -> None:
    """Refuse an image by its header size, before any decoding (decompression bombs)."""
    if width <= 0 or height <= 0:
        raise DocprocError(stage, "corrupt_image", f"{where}: size {width}x{height}")
    if width * height > limits.max_page_pixels:
        raise DocprocError(
            stage, "page_too_large",
            f"{where}: {width}x{height} pixels > limit {limits.max_page_pixels}",
        )


def _image_probe(path: str, kind: str, limits: Limits) -> int:
    """Frame count, checking every frame's header size. Runs in the sandbox child."""
    Image.MAX_IMAGE_PIXELS = limits.max_page_pixels  # Pillow's own guard, on top of ours
    warnings.simplefilter("ignore")  # damaged EXIF/tags warn on stderr; the outcome is what counts
    try:
        with Image.open(path) as im:
            if _PIL_FORMATS.get(im.format or "") != kind:
                raise _fail("corrupt_image", f"{path}: header says {kind}, decoder found {im.format}")
            check_pixels(*im.size, limits, f"{path} page 1")
            if kind != "tiff":  # only TIFF frames are pages (GIF/WEBP frames are animation)
                return 1
            frames = 1
            while frames <= limits.max_pages:
                try:
                    im.seek(frames)
                except EOFError:
                    break
                frames += 1
                check_pixels(*im.size, limits, f"{path} page {frames}")
            return frames
    except Image.DecompressionBombError:
        raise _fail("page_too_large", f"{path}: over {limits.max_page_pixels} pixels") from None
    except DocprocError:
        raise
    except Exception as exc:  # Pillow raises many types for damaged headers
        raise _fail("corrupt_image", f"{path}: {type(exc).__name__}") from None


def image_page_count(path: str, kind: str, limits: Limits) -> int:
    try:
        return sandbox.call_in_child(
            _image_probe, path, kind, limits, timeout_s=PROBE_TIMEOUT_S,
            memory_mb=limits.worker_memory_mb,
        )
    except sandbox.SandboxError as exc:
        raise _fail("corrupt_image", f"{path}: header unreadable ({type(exc).__name__})") from None

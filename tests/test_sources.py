"""sniff(): type by content, limits, page counts, coded errors (all on generated files)."""

from __future__ import annotations

import hashlib
import struct
import zlib
from pathlib import Path

import pytest
from fpdf import FPDF
from PIL import Image

from docproc.errors import DocprocError
from docproc.options import Limits
from docproc.sources import detect_kind, sniff


def _pdf(path: Path, pages: int = 1, **encryption) -> Path:
    doc = FPDF()
    doc.set_font("helvetica", size=12)
    for n in range(pages):
        doc.add_page()
        doc.cell(0, 10, f"Page {n + 1} of a generated test document")
    if encryption:
        doc.set_encryption(**encryption)
    doc.output(str(path))
    return path


def _code(path: Path, limits: Limits | None = None) -> str:
    with pytest.raises(DocprocError) as info:
        sniff(str(path), limits or Limits())
    assert info.value.stage == "sources"
    return info.value.code


def png_claiming(path: Path, width: int, height: int) -> Path:
    """A PNG whose header claims width x height, with a tiny compressed body: costs bytes, not
    the gigabytes a decoder would allocate."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    body = zlib.compress(b"\x00" * 4096)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", body) + chunk(b"IEND", b""))
    return path


def test_pdf_sniffed_with_pages_and_hash(tmp_path):
    path = _pdf(tmp_path / "doc.bin", pages=3)  # the extension says nothing
    info = sniff(str(path), Limits())
    assert (info.kind, info.mime, info.page_count, info.encrypted) == ("pdf", "application/pdf", 3, False)
    assert info.size == path.stat().st_size
    assert info.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_missing_empty_and_oversized_files(tmp_path):
    assert _code(tmp_path / "nope.pdf") == "not_found"
    assert _code(tmp_path) == "not_found"  # a directory
    (tmp_path / "empty.pdf").write_bytes(b"")
    assert _code(tmp_path / "empty.pdf") == "empty_file"
    big = _pdf(tmp_path / "big.pdf")
    assert _code(big, Limits(max_file_bytes=100)) == "file_too_large"


def test_text_file_renamed_pdf_is_unsupported(tmp_path):
    path = tmp_path / "letter.pdf"
    path.write_text("Dear reader,\nthis is plain text that only pretends to be a PDF.\n")
    assert _code(path) == "unsupported_type"


def test_truncated_pdf_is_corrupt(tmp_path):
    whole = _pdf(tmp_path / "whole.pdf").read_bytes()
    cut = tmp_path / "cut.pdf"
    cut.write_bytes(whole[:40])
    assert _code(cut) == "corrupt_pdf"


def test_user_password_pdf_is_encrypted_error(tmp_path):
    path = _pdf(tmp_path / "locked.pdf", owner_password="owner", user_password="user")
    assert _code(path) == "encrypted_pdf"


def test_owner_password_only_pdf_opens(tmp_path):
    path = _pdf(tmp_path / "restricted.pdf", owner_password="owner")
    info = sniff(str(path), Limits())
    assert info.page_count == 1 and info.encrypted


def test_too_many_pages(tmp_path):
    path = _pdf(tmp_path / "long.pdf", pages=4)
    assert _code(path, Limits(max_pages=3)) == "too_many_pages"


def test_png_bomb_refused_from_header(tmp_path):
    path = png_claiming(tmp_path / "bomb.png", 30_000, 30_000)
    assert path.stat().st_size < 10_000
    assert _code(path) == "page_too_large"


def test_multipage_tiff_counts_frames(tmp_path):
    path = tmp_path / "scan.tif"
    frames = [Image.new("RGB", (60, 40), color) for color in ("red", "green", "blue")]
    frames[0].save(path, save_all=True, append_images=frames[1:])
    info = sniff(str(path), Limits())
    assert (info.kind, info.page_count) == ("tiff", 3)
    assert _code(path, Limits(max_pages=2)) == "too_many_pages"


def test_tiff_frame_over_pixel_limit(tmp_path):
    path = tmp_path / "mixed.tif"
    Image.new("L", (50, 50)).save(path, save_all=True, append_images=[Image.new("L", (400, 400))])
    assert _code(path, Limits(max_page_pixels=10_000)) == "page_too_large"


@pytest.mark.parametrize("fmt,kind", [("WEBP", "webp"), ("JPEG", "jpeg"), ("PNG", "png"), ("GIF", "gif"), ("BMP", "bmp")])
def test_images_sniffed_by_content(tmp_path, fmt, kind):
    path = tmp_path / "picture.pdf"  # a misleading name
    Image.new("RGB", (32, 24), "white").save(path, fmt)
    info = sniff(str(path), Limits())
    assert (info.kind, info.page_count) == (kind, 1)


def test_image_signature_without_image_is_corrupt(tmp_path):
    path = tmp_path / "stub.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)
    assert _code(path) == "corrupt_image"


def test_detect_kind_signatures():
    assert detect_kind(b"II*\x00rest") == "tiff"
    assert detect_kind(b"II+\x00rest") == "tiff"  # BigTIFF
    assert detect_kind(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "webp"
    assert detect_kind(b"junk before the header %PDF-1.7\n") == "pdf"
    assert detect_kind(b"5 0 obj\n<< /Type /Catalog >>") == "pdf"  # headerless, poppler reads it
    assert detect_kind(b"PK\x03\x04zipfile") is None
    assert detect_kind(b"<svg xmlns='http://www.w3.org/2000/svg'/>") is None

"""Shared builders for the VLM reader tests: documents with words, and a tiny local model."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from docproc.document import Document, Line, Page, Region, SourceInfo, Word

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing in these tests may reach a hub
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))


def make_page(number: int, rows: list[tuple[float, float, str]]) -> Page:
    """A page whose lines are `(x0, y0, text)`; words get boxes 0.012 wide per character."""
    words: list[Word] = []
    lines: list[Line] = []
    for x0, y0, text in rows:
        idx = []
        x = x0
        for token in text.split():
            w = 0.012 * len(token)
            idx.append(len(words))
            words.append(Word(text=token, bbox=(x, y0, x + w, y0 + 0.02), source="pdf_text"))
            x += w + 0.01
        lines.append(Line(text=text, bbox=(x0, y0, x, y0 + 0.02), words=idx))
    regions = [Region(kind="text", bbox=ln.bbox, lines=[i], order=i) for i, ln in enumerate(lines)]
    return Page(number=number, width=612, height=792, text_source="pdf_text", words=words, lines=lines,
                regions=regions)


def make_doc(pages: list[Page]) -> Document:
    src = SourceInfo(path="/nonexistent/generated.pdf", kind="pdf", mime="application/pdf",
                     sha256="0" * 64, size=1, page_count=len(pages))
    return Document(source=src, pages=pages)


@pytest.fixture(scope="session")
def tiny_vlm_dir(tmp_path_factory) -> Path:
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    import tiny_vlm

    return tiny_vlm.save_random_qwen2vl(tmp_path_factory.mktemp("tiny_qwen2vl"))

"""The embedded batch: naming, and the bad-input batch of issue 2 through the real pipeline."""

import json
import random
import struct
import subprocess
import zlib
from decimal import Decimal
from pathlib import Path

import pytest

from docproc.batch import collect_inputs, plan_outputs, write_result
from docproc.document import FieldValue, Result, ResultDocument
from tests.conftest import REPO


def test_outputs_never_overwrite_each_other(tmp_path):
    (tmp_path / "x").mkdir()
    files = [tmp_path / "a.pdf", tmp_path / "a.png", tmp_path / "b.pdf", tmp_path / "x" / "b.pdf"]
    for f in files:
        f.write_bytes(b"x")
    items = plan_outputs(collect_inputs([tmp_path]), tmp_path / "out")
    names = [i.output.name for i in items]
    assert len(set(names)) == len(files)
    assert {"a.pdf.json", "a.png.json"} <= set(names)


def test_result_file_is_indented_utf8_json_as_the_json_module_writes_it(tmp_path):
    field = FieldValue(value="Moskva, ul. Tverskaya / Москва, Тверская 7 — 1 250,00 €", normalized="1250.00",
                       confidence=0.875, page=1, bbox=[0.1, 0.2, 0.3, 0.25])
    result = Result(document=ResultDocument(source="a.pdf", pages=1), fields={"total": field, "tax": None})
    write_result(result, tmp_path / "a.json")
    text = (tmp_path / "a.json").read_text(encoding="utf-8")
    assert text == json.dumps(result.to_json_dict(), ensure_ascii=False, indent=2)
    assert "Москва" in text and "\\u" not in text
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]  # no temporary file left behind


def _huge_png(path: Path, side: int = 30_000) -> None:
    """A valid 1-bit PNG of side x side pixels (~110 MB raw, a few hundred KB on disk)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" + b"\xff" * (side // 8)
    comp = zlib.compressobj(9)
    body = b"".join(comp.compress(row) for _ in range(side)) + comp.flush()
    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", body) + chunk(b"IEND", b""))


def _encrypted_pdf(path: Path) -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_encryption(owner_password="owner", user_password="secret")
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    pdf.cell(100, 10, "confidential")
    pdf.output(str(path))


@pytest.mark.slow
def test_bad_inputs_get_error_records_and_good_ones_complete(tmp_path, invoice_specs):
    from docproc.samples import render_invoice_pdf, scan_pdf

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    good = {}
    for i, spec in enumerate(invoice_specs[:10]):
        pdf = inbox / f"good-{i:02d}.pdf"
        render_invoice_pdf(spec, pdf)
        if i >= 8:  # two of the ten as scans
            scan = inbox / f"good-{i:02d}-scan.jpg"
            scan_pdf(pdf, scan, random.Random(i))
            pdf.unlink()
            good[scan.stem] = spec
        else:
            good[pdf.stem] = spec
    render_invoice_pdf(invoice_specs[10], inbox / "corrupt.pdf")
    data = (inbox / "corrupt.pdf").read_bytes()
    (inbox / "corrupt.pdf").write_bytes(data[: len(data) // 3])
    (inbox / "empty.pdf").write_bytes(b"")
    _encrypted_pdf(inbox / "encrypted.pdf")
    _huge_png(inbox / "huge.png")
    (inbox / "notes.pdf").write_text("just some text, not a PDF\n" * 20)

    out = tmp_path / "out"
    proc = subprocess.run(
        [str(REPO / ".venv" / "bin" / "docproc"), "extract", str(inbox), "--schema", "invoice", "-o", str(out), "-q"],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 1, proc.stderr[-2000:]
    results = {p.stem: json.loads(p.read_text()) for p in out.glob("*.json")}
    assert len(results) == 15

    expected_codes = {"corrupt": {"corrupt_pdf", "render_failed"}, "empty": {"empty_file"},
                      "encrypted": {"encrypted_pdf"}, "huge": {"page_too_large"}, "notes": {"unsupported_type"}}
    for stem, codes in expected_codes.items():
        r = results[stem]
        assert r["status"] == "error", stem
        assert r["errors"] and r["errors"][0]["code"] in codes, (stem, r["errors"])
        assert r["errors"][0]["message"]

    for stem, spec in good.items():
        r = results[stem]
        assert r["status"] == "ok", (stem, r["errors"])
        fields = r["fields"]
        assert fields["invoice_number"] and fields["invoice_number"]["normalized"] == spec.invoice_number, stem
        assert fields["total"] and Decimal(fields["total"]["normalized"]) == spec.total, stem
        assert r["document"]["text_source"] == ("ocr" if stem.endswith("scan") else "pdf_text")


_LAZY_WORKER = """
import json, sys
from docproc import layout, ocr, pipeline
from docproc.layout import detector
from docproc.options import PipelineOptions

options = PipelineOptions(schema="invoice")
pipeline.warm_up(options, page_models=False)
loaded = lambda: {"ocr": bool(ocr._ENGINES), "layout": detector._MODEL is not None}
digital = pipeline.run(sys.argv[1], options)
after_digital = loaded()
scan = pipeline.run(sys.argv[2], options)
print(json.dumps({"after_digital": after_digital, "after_scan": loaded(),
                  "statuses": [digital.status, scan.status],
                  "fields": [sum(f is not None for f in r.fields.values()) for r in (digital, scan)]}))
"""


def test_folder_worker_loads_page_models_only_for_pages_that_need_them(tmp_path, invoice_specs):
    """A folder-run worker warms up without the OCR and layout models: a born-digital PDF is
    read without loading them, and a scan loads OCR on its first page and is still read (the
    layout model stays unloaded: the rules reader with a schema reads no region kinds)."""
    import sys

    from docproc.samples import render_invoice_pdf, scan_pdf

    pdf, scan = tmp_path / "inv.pdf", tmp_path / "inv-scan.pdf"
    render_invoice_pdf(invoice_specs[0], pdf)
    scan_pdf(pdf, scan, random.Random(3))
    out = subprocess.run([sys.executable, "-c", _LAZY_WORKER, str(pdf), str(scan)], cwd=REPO,
                         capture_output=True, text=True, timeout=300, check=True)
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["statuses"] == ["ok", "ok"]
    assert report["after_digital"] == {"ocr": False, "layout": False}
    assert report["after_scan"] == {"ocr": True, "layout": False}
    assert min(report["fields"]) >= 3

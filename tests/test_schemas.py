import json
from pathlib import Path

import pytest

from docproc.document import Check, Extraction, FieldValue, Result, ResultDocument
from docproc.errors import DocprocError
from docproc.schemas import list_schemas, load_schema, validate_result

REPO = Path(__file__).resolve().parents[1]


def test_builtins_load_and_validate():
    names = {s.name for s in list_schemas()}
    assert {"invoice", "receipt", "nda", "cms1500", "key_values"} <= names
    inv = load_schema("invoice")
    assert inv.id == "invoice@1" and inv.line_items
    assert inv.field("total").type == "money"
    assert load_schema("nda").field("parties").value_type == "string"
    assert load_schema("cms1500").field("patient_sex").enum == ["M", "F"]
    assert load_schema("invoice@1").name == "invoice"


def test_user_schema_file_and_example():
    adbuy = load_schema(str(REPO / "examples" / "schemas" / "adbuy.yaml"))
    assert [f.name for f in adbuy.fields] == ["contract_number", "advertiser", "gross_amount", "flight_start", "flight_end"]


def test_unknown_and_invalid(tmp_path):
    with pytest.raises(DocprocError) as e:
        load_schema("no_such_schema")
    assert e.value.code == "unknown_schema"
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nfields:\n  - name: x\n    type: list\n    query: a list without items\n")
    with pytest.raises(DocprocError) as e:
        load_schema(str(bad))
    assert e.value.code == "invalid_schema"
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(DocprocError) as e:
        load_schema(str(broken))
    assert e.value.code == "invalid_schema"
    typo = tmp_path / "typo.json"
    typo.write_text(json.dumps({"name": "t", "fields": [{"name": "a", "type": "text", "query": "what"}]}))
    with pytest.raises(DocprocError):
        load_schema(str(typo))


def _result() -> Result:
    return Result(
        document=ResultDocument(source="a.pdf", sha256="a" * 64, pages=1, schema="invoice@1", text_source="pdf_text"),
        fields={"total": FieldValue(value="EUR 53,55", normalized="53.55", confidence=0.9, page=1,
                                    bbox=(0.1, 0.2, 0.3, 0.4), currency="EUR"),
                "due_date": None,
                "parties": [FieldValue(value="A Inc.", normalized="A Inc.", confidence=0.6)]},
        checks=[Check(name="totals_add_up", fields=["total"], outcome="pass")],
    )


def test_result_json_schema_accepts_model_output():
    assert validate_result(_result().to_json_dict()) == []


def test_result_json_schema_rejects_bad_output():
    bad = _result().to_json_dict()
    bad["fields"]["total"]["confidence"] = 3
    bad["fields"]["total"]["currency"] = "euro"
    del bad["document"]["source"]
    errors = validate_result(bad)
    assert {e.split(":")[0] for e in errors} == {"document", "fields/total"}
    assert all("53" not in e for e in errors)  # messages name paths, not values

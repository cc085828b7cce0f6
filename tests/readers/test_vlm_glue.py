"""Prompt building, strict parsing and repair, grounding, confidence and hybrid routing, with
controlled model replies (a scripted generator instead of a model: the glue is under test)."""

from __future__ import annotations

import json

import pytest
from conftest import make_doc, make_page

from docproc.document import Extraction, FieldValue
from docproc.options import ReaderOptions
from docproc.readers import grounding, parsing, prompt
from docproc.readers.hybrid import HybridReader, uncertain_fields
from docproc.readers.vlm import Reply, VlmReader, answer_fields, score
from docproc.schemas import FieldSpec, Schema

TOTAL = FieldSpec(name="total", type="money", query="the total amount payable", labels=["total"])
DATE = FieldSpec(name="invoice_date", type="date", query="the date the invoice was issued", labels=["date"])
PARTIES = FieldSpec(name="parties", type="list", items="string", query="the parties")
SEX = FieldSpec(name="sex", type="enum", enum=["M", "F"], query="the patient's sex")
SCHEMA = Schema(name="mini", fields=[TOTAL, DATE])


class Scripted:
    """A generator that replays replies and records the prompts it was given."""

    def __init__(self, *batches: list[str], prob: float = 0.9):
        self.batches = list(batches)
        self.prompts = []
        self.prob = prob

    def generate(self, prompts):
        self.prompts.append(prompts)
        texts = self.batches.pop(0)
        assert len(texts) == len(prompts)
        return [Reply(text=t, token_prob=self.prob) for t in texts]


def invoice_page(number=1):
    return make_page(number, [
        (0.1, 0.05, "ACME Supplies GmbH"),
        (0.1, 0.10, "Invoice date: 12.03.2024"),
        (0.6, 0.80, "Total due EUR 53,55"),
    ])


# -- prompt ---------------------------------------------------------------------------------

def test_prompt_has_fields_types_and_quantised_layout_in_reading_order():
    page = invoice_page()
    page.regions[0].order, page.regions[2].order = 2, 0  # layout says: the total line first
    q = prompt.build_prompt(prompt.PageQuery(doc_index=0, page=page, fields=[TOTAL, SEX]))
    assert '"total" (money): the total amount payable' in q.text
    assert '"sex" (enum; one of: M, F)' in q.text
    assert "Total due EUR 53,55 60|80" in q.text
    assert q.text.index("Total due") < q.text.index("ACME")
    assert not q.truncated


def test_prompt_positions_on_a_skewed_scan_are_where_the_image_shows_the_lines():
    page = make_page(1, [(0.1, 0.055, "ACME Supplies GmbH"), (0.8, 0.805, "Total due EUR 53,55")])
    page.width, page.height = 1000.0, 1400.0
    level, _ = prompt.layout_text(page, budget_tokens=500)
    # The same lines on a scan that fell 6 degrees to the right, after straightening: their
    # boxes are level, the image's rows are not (tan 6 deg x 1000/1400 = 0.075 of the page's
    # height per page width, from its centre).
    page.skew = 6.0
    skewed, _ = prompt.layout_text(page, budget_tokens=500)
    assert "Total due EUR 53,55 80|80" in level and "ACME Supplies GmbH 10|05" in level
    assert "Total due EUR 53,55 80|82" in skewed  # right of centre: lower on the image
    assert "ACME Supplies GmbH 10|02" in skewed  # left of centre: higher


def test_prompt_respects_token_budget():
    page = make_page(1, [(0.1, i / 100, f"line number {i} with some words") for i in range(90)])
    text, cut = prompt.layout_text(page, budget_tokens=50)
    assert cut and 0 < len(text) / prompt.CHARS_PER_TOKEN <= 50
    assert "line number 0 " in text and "line number 89" not in text


def test_select_pages_follows_hints_then_labels_and_caps_pages():
    doc = make_doc([make_page(1, [(0.1, 0.1, "Cover letter")]),
                    make_page(2, [(0.1, 0.1, "Date: 2024-01-02")]),
                    make_page(3, [(0.1, 0.1, "Grand total 10.00")])])
    assert prompt.select_pages(doc, [TOTAL, DATE]) == {2: [DATE], 3: [TOTAL]}
    assert prompt.select_pages(doc, [TOTAL], hint_pages={"total": 1}) == {1: [TOTAL]}
    capped = prompt.select_pages(doc, [TOTAL, DATE, PARTIES], max_pages=1)
    assert len(capped) == 1 and sum(len(v) for v in capped.values()) == 3


# -- parsing ----------------------------------------------------------------------------------

def test_parse_answer_accepts_wrapped_json_and_cleans_values():
    reply = 'Sure:\n```json\n{"total": " EUR  53,55 ", "parties": ["A Corp", " "], "sex": "F"}\n```'
    got = parsing.parse_answer(reply, [TOTAL, PARTIES, SEX])
    assert got == {"total": "EUR 53,55", "parties": ["A Corp"], "sex": "F"}


@pytest.mark.parametrize("reply", [
    '{"total": "1"}',  # a key missing
    '{"total": "1", "sex": "F", "other": 1}',  # an extra key
    '{"total": 5, "sex": "F"}',  # wrong type
    '{"total": "1", "sex": "X"}',  # not an enum value
    '{"total": "1", "sex": ',  # truncated
    "no json here",
])
def test_parse_answer_rejects_replies_outside_the_schema(reply):
    with pytest.raises(parsing.AnswerError):
        parsing.parse_answer(reply, [TOTAL, SEX])


def test_repair_fixes_one_and_the_other_stays_null():
    docs = [make_doc([invoice_page()]), make_doc([invoice_page()])]
    gen = Scripted(['{"total": "EUR 53,55"', 'garbage'], ['{"total": "EUR 53,55"}', 'still garbage'])
    answers, warnings = answer_fields(docs, [[TOTAL], [TOTAL]], gen, ReaderOptions(vlm_max_pixels=0))
    assert len(gen.prompts) == 2 and len(gen.prompts[1]) == 2
    assert answers[0]["total"].normalized == "53.55"
    assert answers[1]["total"] is None
    repaired = gen.prompts[1][0]
    assert repaired.history[0] == ("assistant", '{"total": "EUR 53,55"')
    assert repaired.history[1][0] == "user" and "not valid" in repaired.history[1][1]
    assert any("unparseable" in w for w in warnings[1])
    assert all("53" not in w for w in warnings[0] + warnings[1])  # no values in warnings


# -- grounding and confidence ----------------------------------------------------------------

def test_grounding_finds_words_page_and_bbox():
    pages = [make_page(1, [(0.1, 0.1, "nothing here")]), invoice_page(2)]
    g = grounding.ground("ACME Supplies GmbH", pages)
    assert g.grounded and g.score == 1.0 and g.page == 2
    assert g.bbox[0] == pytest.approx(0.1) and g.bbox[1] == pytest.approx(0.05)


def test_grounding_matches_normalized_money_and_flags_hallucinations():
    pages = [invoice_page()]
    money = grounding.ground("53.55", pages, "money")
    assert money.grounded and money.page == 1 and money.bbox[0] >= 0.6
    fake = grounding.ground("Globex Corporation", pages)
    assert not fake.grounded


def test_confidence_combines_probability_grounding_and_agreement():
    good = grounding.Grounding(1.0, 1, (0, 0, 1, 1))
    bad = grounding.Grounding(0.3)
    assert score(0.9, good, True, None) == pytest.approx(0.9)
    assert score(0.9, bad, True, None) < 0.1
    assert score(0.9, good, True, True) > score(0.9, good, True, None) > score(0.9, good, True, False)
    assert score(0.9, good, False, None) < score(0.9, good, True, None)


def test_vlm_reader_grounds_answers_and_flags_ungrounded(monkeypatch):
    monkeypatch.setattr("docproc.readers.vlm.rules_baseline", lambda doc, schema: None)
    doc = make_doc([invoice_page()])
    gen = Scripted(['{"total": "EUR 53,55", "invoice_date": "2019-01-01"}'])
    out = VlmReader(ReaderOptions(kind="vlm", vlm_max_pixels=0), generator=gen).read(doc, SCHEMA)
    total, date = out.fields["total"], out.fields["invoice_date"]
    assert total.normalized == "53.55" and total.currency == "EUR" and total.page == 1
    assert total.bbox is not None and total.confidence == pytest.approx(0.9, abs=0.01)
    assert date.confidence < 0.2 and "ungrounded" in date.evidence
    assert any("invoice_date" in w and "not found" in w for w in out.warnings)


# -- hybrid routing --------------------------------------------------------------------------

def test_uncertain_fields_are_missing_or_below_threshold():
    base = Extraction(fields={
        "total": FieldValue(value="1", confidence=0.95),
        "invoice_date": FieldValue(value="x", confidence=0.3),
        "parties": [FieldValue(value="a", confidence=0.9), FieldValue(value="b", confidence=0.2)],
        "sex": None,
    })
    schema = Schema(name="s", fields=[TOTAL, DATE, PARTIES, SEX])
    assert [f.name for f in uncertain_fields(schema, base, 0.6)] == ["invoice_date", "parties", "sex"]


def test_hybrid_asks_only_uncertain_fields_batched_per_page(monkeypatch):
    base = Extraction(fields={"total": FieldValue(value="EUR 53,55", normalized="53.55", confidence=0.95, page=1),
                              "invoice_date": None})
    monkeypatch.setattr("docproc.readers.vlm.rules_baseline", lambda doc, schema: base)
    docs = [make_doc([invoice_page()]), make_doc([invoice_page()])]
    gen = Scripted(['{"invoice_date": "12.03.2024"}', '{"invoice_date": null}'])
    reader = HybridReader(ReaderOptions(kind="hybrid", vlm_max_pixels=0), generator=gen)
    outs = reader.read_many(docs, SCHEMA)
    assert len(gen.prompts) == 1 and len(gen.prompts[0]) == 2  # one batch, one prompt per page
    assert all([f.name for f in p.fields] == ["invoice_date"] for p in gen.prompts[0])
    assert all('"total"' not in p.text for p in gen.prompts[0])
    assert outs[0].fields["total"].confidence == 0.95  # the rules answer stands
    assert outs[0].fields["invoice_date"].normalized == "2024-03-12"
    assert outs[0].fields["invoice_date"].source == "hybrid"
    assert outs[1].fields["invoice_date"] is None


def test_hybrid_with_confident_rules_never_calls_the_model(monkeypatch):
    base = Extraction(fields={n: FieldValue(value="v", confidence=0.99, page=1) for n in ("total", "invoice_date")})
    monkeypatch.setattr("docproc.readers.vlm.rules_baseline", lambda doc, schema: base)
    gen = Scripted()
    out = HybridReader(ReaderOptions(kind="hybrid"), generator=gen).read(make_doc([invoice_page()]), SCHEMA)
    assert gen.prompts == [] and out.fields["total"].value == "v"


def test_agreement_with_rules_raises_confidence(monkeypatch):
    base = Extraction(fields={"total": FieldValue(value="53,55", normalized="53.55", confidence=0.5, page=1)})
    monkeypatch.setattr("docproc.readers.vlm.rules_baseline", lambda doc, schema: base)
    gen = Scripted(['{"total": "EUR 53,55"}'], prob=0.7)
    out = HybridReader(ReaderOptions(kind="hybrid", vlm_max_pixels=0), generator=gen).read(
        make_doc([invoice_page()]), Schema(name="t", fields=[TOTAL]))
    assert out.fields["total"].source == "hybrid" and out.fields["total"].confidence > 0.7


def test_answer_schema_is_the_grammar_input():
    s = parsing.answer_schema([TOTAL, PARTIES, SEX])
    assert s["required"] == ["total", "parties", "sex"] and s["additionalProperties"] is False
    json.dumps(s)

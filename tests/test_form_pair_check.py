"""The pair check (docproc.readers.rules.form_pair_check): a learned second opinion on the layout
rules' own pairs, on hand-built pages, with the shipped ONNX model."""

import numpy as np

from docproc.readers.rules import form_links, form_pair_check, forms
from docproc.readers.rules.forms import read_form_pairs
from tests.rules_helpers import document, page

_MEMO = [(0.1, 0.10, "TO:"), (0.2, 0.10, "J. Brown"), (0.1, 0.13, "FROM:"), (0.2, 0.13, "K. Lee"),
         (0.1, 0.16, "DATE:"), (0.2, 0.16, "May 4, 1992"), (0.1, 0.19, "SUBJECT:"), (0.25, 0.19, "Test Results")]


def _scan(rows):
    """A hand-built page as if OCR had read it (the check judges scanned pages only)."""
    doc = document(page(1, rows))
    doc.pages[0].text_source = "ocr"
    return doc


def _rule_pairs(rows):
    cells, pairs = forms.rule_pairs(forms.cells_by_page(_scan(rows))[0])
    assert cells.scanned
    return cells, pairs


def test_a_rule_pair_is_judged_by_the_link_features_of_its_boxes_and_by_itself():
    cells, pairs = _rule_pairs(_MEMO)
    cands = form_links.candidates(cells)
    x = form_links.features(cells, cands)
    rows = form_pair_check.features(cells, cands, x, pairs)
    assert rows.shape == (len(pairs), len(form_pair_check.FEATURES)) == (4, len(form_links.FEATURES) + 6)
    index = {id(c): i for i, c in enumerate(cells)}
    n = len(form_links.FEATURES)
    for row, (key, values, confidence) in zip(rows, pairs.boxes):
        j = np.flatnonzero((cands.key == index[id(key)]) & (cands.value == index[id(values[0])]))[0]
        assert (row[:n] == x[j]).all()
        extra = dict(zip(form_pair_check.FEATURES[n:], row[n:]))
        assert extra["p_rule_confidence"] == np.float32(confidence) == np.float32(0.8)  # a colon label's row answer
        assert extra["p_answer_boxes"] == 1 and extra["p_candidate"] == 1 and extra["p_key_renamed"] == 0


def test_a_pair_whose_boxes_are_no_candidate_has_its_link_features_missing():
    cells, pairs = _rule_pairs(_MEMO)
    none = form_links.Candidates(*(np.zeros(0, dtype=np.int64),) * 2, np.zeros(0, dtype=bool),
                                 *(np.zeros(0, dtype=np.int64),) * 3)
    rows = form_pair_check.features(cells, none, np.zeros((0, len(form_links.FEATURES)), np.float32), pairs)
    n = len(form_links.FEATURES)
    assert (rows[:, :n] == -1).all()
    assert (rows[:, n + form_pair_check.FEATURES[n:].index("p_candidate")] == 0).all()


def test_keep_drops_the_unlikely_pairs_and_gives_the_rest_their_probability():
    _, pairs = _rule_pairs(_MEMO)
    kept = form_pair_check.keep(pairs, np.array([0.9, 0.1, 0.5, 0.3]), threshold=0.3)
    assert [kv.key for kv in kept] == ["TO:", "DATE:", "SUBJECT:"]
    # The hand-built page's boxes read at OCR confidence 1: the confidence is the probability.
    assert [kv.confidence for kv in kept] == [0.9, 0.5, 0.3]
    assert [kv.confidence for kv in pairs] == [0.8] * 4  # the rules' own pairs are not changed


_BRAND = [(0.1, 0.10, "Name:"), (0.3, 0.10, "Marlboro Lights"), (0.1, 0.13, "PHOENIX"), (0.3, 0.13, "Filter")]


def test_the_shipped_check_drops_a_value_taken_for_a_label_and_keeps_a_memo_header():
    assert form_pair_check.MODEL_PATH.is_file()
    assert form_pair_check.default_model()._session.get_inputs()[0].shape[1] == len(form_pair_check.FEATURES)
    rules = [(kv.key, kv.value) for kv in read_form_pairs(_scan(_BRAND), links=False)]
    checked = [(kv.key, kv.value) for kv in read_form_pairs(_scan(_BRAND))]
    assert ("PHOENIX", "Filter") in rules  # an upper-case brand name left of a word: a label, say the rules
    assert ("PHOENIX", "Filter") not in checked and ("Name:", "Marlboro Lights") in checked
    memo = read_form_pairs(_scan(_MEMO))
    assert [(kv.key, kv.value) for kv in memo] == [("TO:", "J. Brown"), ("FROM:", "K. Lee"),
                                                   ("DATE:", "May 4, 1992"), ("SUBJECT:", "Test Results")]
    assert min(kv.confidence for kv in memo) > 0.8


def test_a_page_read_from_its_text_layer_keeps_the_rules_pairs():
    rules = [(kv.key, kv.value, kv.confidence) for kv in read_form_pairs(document(page(1, _BRAND)), links=False)]
    both = [(kv.key, kv.value, kv.confidence) for kv in read_form_pairs(document(page(1, _BRAND)))]
    assert ("PHOENIX", "Filter", 0.55) in rules
    assert both[:len(rules)] == rules  # the check knows scanned forms only


def test_without_the_model_the_rules_pairs_stand(monkeypatch):
    monkeypatch.setattr(form_pair_check, "default_model", lambda: None)
    cells, pairs = _rule_pairs(_BRAND)
    cands = form_links.candidates(cells)
    kept = form_pair_check.checked(cells, cands, form_links.features(cells, cands), pairs)
    assert [(kv.key, kv.value, kv.confidence) for kv in kept] == [(kv.key, kv.value, kv.confidence) for kv in pairs]

"""The learned form links (docproc.readers.rules.form_links): candidates, features, the shipped
ONNX model and what it adds to the layout rules' pairs, on hand-built pages."""

import numpy as np

from docproc.document import Ruling
from docproc.readers.rules import form_links, forms
from docproc.readers.rules.forms import read_form_pairs
from tests.rules_helpers import document, page


def _cells(rows):
    cells, _pairs = forms.rule_pairs(forms.PageCells(forms.page_cells(document(page(1, rows)))))
    return cells


def test_the_shipped_model_reads_the_feature_rows_and_gives_probabilities():
    assert form_links.MODEL_PATH.is_file()
    model = form_links.default_model()
    assert model is not None
    assert model._session.get_inputs()[0].shape[1] == len(form_links.FEATURES)
    cells = _cells([(0.1, 0.10, "Date:"), (0.3, 0.10, "9/3/92"), (0.1, 0.13, "Brand"), (0.3, 0.13, "PHOENIX")])
    cands = form_links.candidates(cells)
    x = form_links.features(cells, cands)
    assert x.shape == (len(cands), len(form_links.FEATURES)) and x.dtype == np.float32
    p = model.predict(x)
    assert p.shape == (len(cands),) and ((0 <= p) & (p <= 1)).all()
    # The rules' own pair is the likeliest link of its answer.
    date = next(i for i, c in enumerate(cells) if c.text == "9/3/92")
    best = max((pi, cells[k].text) for k, v, pi in zip(cands.key, cands.value, p) if v == date)
    assert best[1] == "Date:"


def test_a_heading_is_a_candidate_of_every_answer_in_its_column_however_deep():
    rows = [(0.4, 0.10, "Weight")] + [(0.4, 0.13 + 0.03 * i, f"{i}.25") for i in range(8)]
    cells = _cells(rows)
    bottom = next(i for i, c in enumerate(cells) if c.text == "7.25")
    head = next(i for i, c in enumerate(cells) if c.text == "Weight")
    cands = form_links.candidates(cells)
    hit = [j for j in range(len(cands)) if cands.value[j] == bottom and cands.key[j] == head]
    assert len(hit) == 1
    j = hit[0]
    assert cands.column[j] and cands.rank_key[j] == 7 and cands.labels_between[j] == 0
    # Only the two nearest answers above are candidates besides labels: 7 boxes lie between.
    assert sum(1 for v in cands.value if v == bottom) == 3


def test_choose_links_keeps_the_likeliest_new_key_per_direction():
    cells = _cells([(0.1, 0.10, "Male"), (0.3, 0.10, "Female"), (0.1, 0.13, "42"), (0.3, 0.13, "58")])
    idx = {c.text: i for i, c in enumerate(cells)}
    cands = form_links.Candidates(
        key=np.array([idx["Male"], idx["Female"], idx["42"], idx["Male"]]),
        value=np.array([idx["42"], idx["58"], idx["58"], idx["58"]]),
        column=np.array([True, True, False, True]),
        rank_key=np.zeros(4, dtype=int), labels_between=np.zeros(4, dtype=int), rank_value=np.zeros(4, dtype=int))
    for c in cells:
        c.links = []
    cells[idx["58"]].links = [cells[idx["Female"]]]  # as if the rules had paired "Female" -> "58" only
    links = form_links.choose_links(cells, cands, [0.9, 0.95, 0.4, 0.6], threshold=0.5)
    got = sorted((k.text, v.text, p) for k, v, p in links)
    # "Female" -> "58" is the rules' own (not repeated); "42" -> "58" is under the threshold;
    # "Male" -> "58" is the likeliest new key above "58".
    assert got == [("Male", "42", 0.9), ("Male", "58", 0.6)]


_SPEC_SHEET = [(0.1, 0.10, "Brand"), (0.3, 0.10, "PHOENIX"),
               (0.1, 0.13, "Supplier(s)"), (0.3, 0.13, "Ecusta"), (0.5, 0.13, "Swift"),
               (0.1, 0.16, "Color"), (0.3, 0.16, "Imitation Cork"),
               (0.1, 0.19, "Style"), (0.3, 0.19, "HLB-KS"), (0.1, 0.22, "Country"), (0.3, 0.22, "CYPRUS")]


def _spec_sheet(answer_lines: bool):
    """A scanned spec sheet: each answer typed on a line drawn for it (when `answer_lines`)."""
    doc = document(page(1, _SPEC_SHEET))
    if answer_lines:
        doc.pages[0].rulings = [Ruling(orientation="horizontal", bbox=(0.28, y + 0.017, 0.7, y + 0.018))
                                for y in (0.10, 0.13, 0.16, 0.19, 0.22)]
    return doc


def _link_probability(doc, key: str, value: str) -> float:
    cells, _ = forms.rule_pairs(forms.cells_by_page(doc)[0])
    cands = form_links.candidates(cells)
    p = form_links.default_model().predict(form_links.features(cells, cands))
    return next(float(pi) for k, v, pi in zip(cands.key, cands.value, p)
                if cells[k].text == key and cells[v].text == value)


def test_an_answer_line_makes_a_link_likelier():
    bare = _link_probability(_spec_sheet(answer_lines=False), "Supplier(s)", "Ecusta")
    ruled = _link_probability(_spec_sheet(answer_lines=True), "Supplier(s)", "Ecusta")
    assert ruled > bare


def test_the_model_pairs_a_title_case_answer_the_rules_leave_alone():
    rules = {(kv.key, kv.value): kv.confidence for kv in read_form_pairs(_spec_sheet(True), links=False)}
    both = {(kv.key, kv.value): kv.confidence for kv in read_form_pairs(_spec_sheet(True))}
    assert ("Supplier(s)", "Ecusta") not in rules  # two Title-Case boxes after a label: no rule fires
    assert ("Supplier(s)", "Ecusta") in both
    assert set(rules) < set(both)  # the pair check keeps the rules' pairs
    # The link's confidence is its probability (the boxes read at OCR confidence 1).
    p = _link_probability(_spec_sheet(True), "Supplier(s)", "Ecusta")
    assert both[("Supplier(s)", "Ecusta")] == round(p, 4)


def test_a_page_with_too_many_boxes_gets_no_candidates():
    rows = [(0.02 + 0.05 * (i % 19), 0.02 + 0.012 * (i // 19), f"w{i}") for i in range(form_links.MAX_CELLS + 1)]
    assert len(form_links.candidates(_cells(rows))) == 0


def _reference_candidates(cells) -> set[tuple]:
    """candidates() spelt out box by box: per answer, the boxes left of it on its row and above
    it in its column, nearest first (ties: more in line, then list order); the nearest
    NEAREST of each, and label boxes with fewer than NEAREST_LABELS labels nearer."""
    out = set()
    for v, a in enumerate(cells):
        ha = max(a.bbox[3] - a.bbox[1], 1e-4)
        for column in (False, True):
            found = []
            for k, b in enumerate(cells):
                hb = max(b.bbox[3] - b.bbox[1], 1e-4)
                same_row = min(a.bbox[3], b.bbox[3]) - max(a.bbox[1], b.bbox[1]) >= 0.5 * min(ha, hb)
                x_gap = max(a.bbox[0], b.bbox[0]) - min(a.bbox[2], b.bbox[2])
                if k == v or b.page != a.page:
                    continue
                if not column:
                    gap = a.bbox[0] - b.bbox[2]
                    ok = same_row and -0.005 <= gap <= form_links.MAX_ROW_GAP
                else:
                    gap = a.bbox[1] - b.bbox[3]
                    ok = (not same_row and b.bbox[3] <= a.bbox[1] + 0.3 * ha and b.bbox[1] < a.bbox[1] - 0.3 * hb
                          and gap <= form_links.MAX_COLUMN_GAP and x_gap <= form_links.COLUMN_SLACK * ha)
                if ok:
                    found.append((np.float32(gap) + np.float32(1e-3) * max(np.float32(x_gap), 0), k))
            labels_before = 0
            for rank, (_, k) in enumerate(sorted(found)):
                label = forms._keyish(cells[k])
                if rank < form_links.NEAREST or (label and labels_before < form_links.NEAREST_LABELS):
                    out.add((k, v, column, rank, labels_before))
                labels_before += label
    return out


def test_candidates_match_a_box_by_box_search_on_a_dense_grid():
    """A table of headings, row labels and figures, with uneven rows and widths: the vectorised
    search finds exactly the candidates a plain search of every pair finds."""
    rng = np.random.default_rng(7)
    rows = [(0.05 + 0.15 * j, 0.08, f"Col {j}") for j in range(6)]
    for i in range(25):
        y = 0.11 + 0.03 * i + rng.uniform(-0.004, 0.004)
        rows.append((0.05, y, f"Item {i}"))
        rows += [(0.2 + 0.15 * j + rng.uniform(-0.01, 0.01), y + rng.uniform(-0.003, 0.003), f"{rng.integers(1, 999)}")
                 for j in range(5) if rng.random() < 0.8]
    cells = _cells(rows)
    cands = form_links.candidates(cells)
    got = set(zip(cands.key.tolist(), cands.value.tolist(), cands.column.tolist(),
                  cands.rank_key.tolist(), cands.labels_between.tolist()))
    assert len(got) == len(cands) > 300
    assert got == _reference_candidates(cells)


def test_aligned_counts_the_other_boxes_whose_left_edge_lines_up_on_the_same_page():
    x0 = np.array([0.10, 0.105, 0.30, 0.10, 0.50])
    h = np.full(5, 0.02)
    page = np.array([1, 1, 1, 2, 1])
    # Box 0 and 1 share an edge within half a height; box 3 sits on another page.
    assert form_links._aligned(x0, h, page).tolist() == [1, 1, 0, 0, 0]
    # Sorted edges give the box-by-box count on a dense grid too.
    rng = np.random.default_rng(0)
    x0, h = rng.uniform(0, 1, 3000), rng.uniform(0.01, 0.03, 3000)
    page = np.ones(3000, dtype=int)
    brute = (np.abs(x0[:, None] - x0[None, :]) <= 0.5 * h[:, None]).sum(1) - 1
    assert (form_links._aligned(x0, h, page) == brute).all()

"""Learned links between a form's label boxes and answer boxes, beside the layout rules.

The rules in `forms.py` pair a label with the answer the layout points at. What they miss is
mostly a matter of weighing many small signals at once: a grid cell belongs to its row label
*and* to its column heading, a Title-Case answer looks like a label, a tick-box option answers
the label over its row. This module scores every (label box, answer box) candidate on the page
(the nearest boxes left of an answer on its row, the nearest above it in its column) with an
extremely randomized trees model (50 trees) over geometry, lettering, the page's ruled lines
(form_rulings.py) and what the rules decided, and adds the links the rules did not make.

The model is trained by `scripts/train_form_links.py` on the FUNSD dev set's question/answer
pairs (features only: box geometry, letter classes, counts of generic field-label words, ruled
lines, the rules' own verdicts; no dev-set words or names)
and shipped as ONNX (`models/form_links.onnx`, 5.5 MB), run by ONNX Runtime, which the OCR
already loads. On the dev set's own forms the model is in-sample; the script's cross-validation
gives the estimate for unseen forms. Without the file the rules' pairs stand alone.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from docproc.readers.rules import form_rulings
from docproc.readers.rules.forms import (_MARKS, _field_words, _has_row_value, _keyish, _wide, closed_key,
                                        label_like)

MODEL_PATH = Path(__file__).with_name("models") / "form_links.onnx"
ADD_THRESHOLD = 0.3  # probability above which a link the rules did not make is added
NEAREST = 2  # nearest boxes left of an answer on its row, and above it in its column
NEAREST_LABELS = 3  # nearest label boxes in each direction
MAX_ROW_GAP = 0.6  # page widths
MAX_COLUMN_GAP = 0.3  # page heights
COLUMN_SLACK = 2.0  # line heights a heading may stand beside its column (a heading over two columns)
# A page with more boxes is running text or a dense table, not a form: the rules alone (the
# candidate search holds a few boxes-by-boxes matrices).
MAX_CELLS = 600

_NUMBER = re.compile(r"^[-+($]?\.?\d[\d.,/ -]*[*+%)]*$")
_DATE = re.compile(r"\d{1,2}\s?[/.-]\s?\d{1,2}\s?[/.-]\s?\d{2,4}|\b(19|20)\d\d\b")

FEATURES = (
    "direction_column", "dx", "dy", "x_overlap", "left_align", "center_offset", "height_ratio",
    "rank_key", "labels_between", "rank_value", "k_y", "v_x",
    "k_colon", "k_closed", "k_label", "k_upper", "k_title", "k_words", "k_digits", "k_alpha", "k_paren",
    "k_number", "k_wide", "k_chars",
    "v_colon", "v_closed", "v_label", "v_upper", "v_title", "v_words", "v_digits", "v_alpha", "v_paren",
    "v_number", "v_date", "v_wide", "v_mark", "v_chars",
    "rule_pair", "k_rule_key", "k_rule_value", "v_rule_key", "v_rule_value", "v_rule_keys",
    "v_has_row_key", "k_row_boxes", "page_boxes",
    "k_column_boxes", "dx_page", "dy_page", "k_x", "v_y", "k_has_row_value",
    "k_field", "v_field", "k_aligned", "v_aligned", "k_cands", "v_cands",
) + form_rulings.FEATURES


@dataclass
class Candidates:
    """(key box, answer box) candidates of one page as parallel arrays of indices into its boxes."""

    key: np.ndarray
    value: np.ndarray
    column: np.ndarray  # the key stands above the answer (else left of it on its row)
    rank_key: np.ndarray  # boxes between the key and the answer in that direction (0: the nearest)
    labels_between: np.ndarray  # label boxes among those
    rank_value: np.ndarray  # 0: the key's nearest answer in that direction

    def __len__(self) -> int:
        return len(self.key)


def candidates(cells: list) -> Candidates:
    """Every answer box's nearest boxes left of it on its row and above it in its column, and
    the nearest label boxes past those: a grid's heading stands over a whole column of answers,
    its row label left of a whole row."""
    n = len(cells)
    if n < 2 or n > MAX_CELLS:
        e = np.zeros(0, dtype=np.int64)
        return Candidates(e, e, e.astype(bool), e, e, e)
    b = np.array([c.bbox for c in cells], dtype=np.float32)
    x0, y0, x1, y1 = b.T
    h = np.maximum(y1 - y0, 1e-4)
    page = np.array([c.page for c in cells])
    keyish = np.array([_keyish(c) for c in cells], dtype=bool)
    # Matrices are [k, v]: box k relative to answer box v.
    same_page = page[:, None] == page[None, :]
    overlap_y = np.minimum(y1[:, None], y1[None, :]) - np.maximum(y0[:, None], y0[None, :])
    same_row = overlap_y >= 0.5 * np.minimum(h[:, None], h[None, :])
    x_gap = np.maximum(x0[:, None], x0[None, :]) - np.minimum(x1[:, None], x1[None, :])
    row_gap = x0[None, :] - x1[:, None]
    col_gap = y0[None, :] - y1[:, None]
    not_self = ~np.eye(n, dtype=bool)
    left = same_page & same_row & not_self & (row_gap >= -0.005) & (row_gap <= MAX_ROW_GAP)
    above = (same_page & ~same_row & not_self & (y1[:, None] <= y0[None, :] + 0.3 * h[None, :])
             & (y0[:, None] < y0[None, :] - 0.3 * h[:, None]) & (col_gap <= MAX_COLUMN_GAP)
             & (x_gap <= COLUMN_SLACK * h[None, :]))
    parts = []
    for mask, gap, column in ((left, row_gap, False), (above, col_gap, True)):
        # Per answer v, its candidate boxes nearest first (ties: the box more in line with the
        # answer, then list order). Only the few candidates of each answer are sorted, not the
        # whole page's column.
        k, v = np.nonzero(mask)
        near = gap[k, v] + 1e-3 * np.maximum(x_gap[k, v], 0)
        order = np.lexsort((k, near, v))
        k, v = k[order], v[order]
        first = np.ones(len(v), dtype=bool)
        first[1:] = v[1:] != v[:-1]
        group_start = np.maximum.accumulate(np.where(first, np.arange(len(v)), 0)) if len(v) else v
        rank = np.arange(len(v)) - group_start
        labels = keyish[k]
        before = np.cumsum(labels) - labels  # label boxes ahead of each, counted from v's first
        between = before - before[group_start]
        chosen = np.flatnonzero((rank < NEAREST) | (labels & (between < NEAREST_LABELS)))
        chosen = chosen[np.lexsort((v[chosen], rank[chosen]))]  # by rank, then answer
        parts.append((k[chosen], v[chosen], np.full(len(chosen), column), rank[chosen], between[chosen]))
    key, value, column, rank_key, labels_between = (np.concatenate(x) for x in zip(*parts))
    # A key's nearest answer in a direction ranks 0: "DATE" over its answer, not the one under it.
    pos = np.where(column, y0[value], x0[value])
    idx = np.lexsort((pos, column, key))
    group = np.r_[True, (key[idx][1:] != key[idx][:-1]) | (column[idx][1:] != column[idx][:-1])]
    start = np.maximum.accumulate(np.where(group, np.arange(len(idx)), 0))
    rank_value = np.empty(len(idx), dtype=np.int64)
    rank_value[idx] = np.arange(len(idx)) - start
    return Candidates(key, value, column, rank_key, labels_between, rank_value)


@functools.lru_cache(maxsize=65536)
def _text_features(text: str) -> tuple[float, ...]:
    """colon, upper, title, words, digits, alpha, paren, number, chars, date, mark."""
    words = text.split()
    chars = max(len(text), 1)
    return (
        float(text.endswith(":")),
        float(text.isupper()),
        float(bool(words) and all(w[:1].isupper() for w in words if w[:1].isalpha())),
        float(min(len(words), 20)),
        sum(ch.isdigit() for ch in text) / chars,
        sum(ch.isalpha() for ch in text) / chars,
        float(text.startswith("(")),
        float(bool(_NUMBER.match(text.rstrip(":").strip()))),
        float(min(len(text), 80)),
        float(bool(_DATE.search(text.strip()))),
        float(text.strip() in _MARKS),
    )


def features(cells: list, cands: Candidates) -> np.ndarray:
    """One row per candidate, in FEATURES order (the model's input)."""
    m = len(cands)
    if not m:
        return np.zeros((0, len(FEATURES)), dtype=np.float32)
    n = len(cells)
    b = np.array([c.bbox for c in cells], dtype=np.float64)
    x0, y0, x1, y1 = b.T
    h = np.maximum(y1 - y0, 1e-4)
    t = np.array([_text_features(c.text) for c in cells], dtype=np.float64)
    wide = np.array([_wide(c) for c in cells], dtype=np.float64)
    closed = np.array([closed_key(c) for c in cells], dtype=np.float64)
    label = np.array([label_like(c) for c in cells], dtype=np.float64)
    # per box: colon, closed, label, upper, title, words, digits, alpha, paren, number, wide, chars
    box = np.column_stack([t[:, 0], closed, label, t[:, 1:8], wide, t[:, 8]])
    is_key = np.array([c.is_key for c in cells], dtype=np.float64)
    n_links = np.array([len(c.links) for c in cells], dtype=np.float64)
    index = {id(c): i for i, c in enumerate(cells)}
    linked = {(index.get(id(k), -1), i) for i, c in enumerate(cells) for k in c.links}
    k, v, col = cands.key, cands.value, cands.column
    rule_pair = np.array([(a, b_) in linked for a, b_ in zip(k.tolist(), v.tolist())], dtype=np.float64)
    has_row_key = np.zeros(n)
    has_row_key[v[~col]] = 1.0
    row_boxes = np.bincount(k[~col], minlength=n).astype(np.float64)
    column_boxes = np.bincount(k[col], minlength=n).astype(np.float64)
    keys = np.unique(k)
    row_value = np.zeros(n)
    row_value[keys] = [float(_has_row_value(cells, cells[i])) for i in keys.tolist()]
    hh = np.maximum(np.minimum(h[k], h[v]), 1e-3)
    overlap = np.minimum(x1[k], x1[v]) - np.maximum(x0[k], x0[v])
    vb = box[v]
    # Field words ("Date", "Company") mark labels, wherever case gives no hint.
    field = np.array([min(_field_words(c.text), 3) for c in cells], dtype=np.float64)
    aligned = _aligned(x0, h, np.array([c.page for c in cells]))
    out = np.column_stack([
        col.astype(np.float64), (x0[v] - x1[k]) / hh, (y0[v] - y1[k]) / hh,
        overlap / np.maximum(np.minimum(x1[k] - x0[k], x1[v] - x0[v]), 1e-4),
        np.abs(x0[v] - x0[k]) / hh, np.abs((x0[v] + x1[v]) - (x0[k] + x1[k])) / (2 * hh),
        h[k] / h[v], cands.rank_key, cands.labels_between, cands.rank_value, y0[k], x0[v],
        box[k],
        vb[:, :10], t[v, 9], vb[:, 10], t[v, 10], vb[:, 11],
        rule_pair, is_key[k], (n_links[k] > 0), is_key[v], (n_links[v] > 0), n_links[v],
        has_row_key[v], row_boxes[k], np.full(m, np.log1p(n)),
        column_boxes[k], x0[v] - x1[k], y0[v] - y1[k], x0[k], y0[v], row_value[k],
        field[k], field[v], aligned[k], aligned[v],
        np.bincount(k, minlength=n)[k], np.bincount(v, minlength=n)[v],
        form_rulings.features(cells, k, v, col, getattr(cells, "rulings", ())),
    ])
    return out.astype(np.float32)


def _aligned(x0: np.ndarray, h: np.ndarray, page: np.ndarray) -> np.ndarray:
    """Per box, the other boxes of its page whose left edge lies within half its height of its
    own: a column of labels, or of answers in a grid. Sorted edges, not a box-by-box matrix:
    dense born-digital pages hold thousands of boxes."""
    out = np.zeros(len(x0))
    for p in np.unique(page):
        idx = np.flatnonzero(page == p)
        edges = np.sort(x0[idx])
        lo = np.searchsorted(edges, x0[idx] - 0.5 * h[idx], side="left")
        hi = np.searchsorted(edges, x0[idx] + 0.5 * h[idx], side="right")
        out[idx] = hi - lo - 1
    return out


class LinkModel:
    """The ONNX trees model (exported without ZipMap: a probabilities matrix); one ONNX Runtime
    session per process, one thread (a page's candidates are one call of a few milliseconds)."""

    def __init__(self, path: Path = MODEL_PATH):
        import onnxruntime as ort

        so = ort.SessionOptions()
        so.intra_op_num_threads = 1
        so.inter_op_num_threads = 1
        self._session = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
        self._input = self._session.get_inputs()[0].name

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The probability that each row's key and answer are a pair."""
        if not len(x):
            return np.zeros(0)
        return self._session.run(["probabilities"], {self._input: x})[0][:, 1]


@functools.lru_cache(maxsize=1)
def default_model() -> LinkModel | None:
    return LinkModel() if MODEL_PATH.is_file() else None


def extra_links(cells: list, cands: Candidates, x: np.ndarray, model: LinkModel | None = None,
                threshold: float = ADD_THRESHOLD) -> list[tuple[object, object, float]]:
    """(key, value, probability) for the links the rules did not make that the model finds
    likely (see `choose_links`), given the page's candidates and their `features`."""
    model = model if model is not None else default_model()
    if model is None or not len(cands):
        return []
    return choose_links(cells, cands, model.predict(x), threshold)


def choose_links(cells: list, cands: Candidates, probs, threshold: float) -> list[tuple[object, object, float]]:
    """Per answer box, the likeliest new key on its row and the likeliest in its column, when
    likely enough: a grid cell answers both its row label and its column heading."""
    best: dict[tuple[int, bool], tuple[float, int, int]] = {}
    for k, v, column, p in zip(cands.key.tolist(), cands.value.tolist(), cands.column.tolist(), probs):
        if p < threshold or any(x is cells[k] for x in cells[v].links):
            continue
        if (v, column) not in best or p > best[(v, column)][0]:
            best[(v, column)] = (float(p), k, v)
    return [(cells[k], cells[v], p) for p, k, v in best.values()]

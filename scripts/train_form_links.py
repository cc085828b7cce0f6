"""Train the form-link model (docproc/readers/rules/form_links.py) and the pair check
(form_pair_check.py) on a key-value dev set.

    .venv/bin/python scripts/doccache.py build ../shared/eval/funsd_forms /tmp/doccache/funsd_forms
    .venv/bin/python scripts/train_form_links.py ../shared/eval/funsd_forms /tmp/doccache/funsd_forms

Needs scikit-learn and skl2onnx (`pip install -e .[train]`); the runtime needs neither. Every
candidate (label box, answer box) of every page is labelled by the dev set's question/answer
pairs (soft match, as `docproc eval` scores), and so is every pair the rules make (by its key and
answer text: an answer may join several boxes); each once with its page's ruled lines and once
without (a text-layer page has none). The script first reports the pair F1 of the rules alone
and of rules, check and links under k-fold cross-validation by document (each document scored by
models that never saw it: the estimate for unseen forms; `--fold-seed` deals the folds another
way), per threshold, and the same without ruled lines; then it trains both models on every
document and writes them as ONNX.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from docproc.document import Document  # noqa: E402
from docproc.evaluate import Counts, _score_pairs, values_match  # noqa: E402
from docproc.readers.rules import form_links, form_pair_check, forms  # noqa: E402

SEED = 0


@dataclass
class Doc:
    expected: list[dict]
    rule: list  # the rules' pairs
    cands: list  # (page boxes, candidates) per page
    x: np.ndarray  # candidate features
    bare: np.ndarray  # the same with the pages' ruled lines left out
    y: np.ndarray  # 1: the candidate is an expected pair
    pair_x: np.ndarray  # the rule pairs' features (form_pair_check)
    pair_bare: np.ndarray
    pair_y: np.ndarray  # 1: the rule pair is an expected pair


def _matches(expected: list[dict], key: str, value: str) -> bool:
    return any(values_match(e["key"], key, "string", True) and values_match(e["value"], value, "string", True)
               for e in expected)


def _page_data(doc: Document, expected: list[dict]) -> Doc:
    """A document's rule pairs, (page boxes, candidates) per page, features and labels. Every
    page's features come twice, with its ruled lines and without: pages read from a text layer
    have none, and the model learns what is left without them."""
    rule, cands, xs, bare, ys = [], [], [], [], []
    pair_x, pair_bare, pair_y = [], [], []
    for cells in forms.cells_by_page(doc):
        cells, out = forms.rule_pairs(cells)
        cs = form_links.candidates(cells)
        x = form_links.features(cells, cs)
        rulings, cells.rulings = cells.rulings, []
        x_bare = form_links.features(cells, cs)
        cells.rulings = rulings
        rule.append(out)
        cands.append((cells, cs))
        xs.append(x)
        bare.append(x_bare)
        pair_x.append(form_pair_check.features(cells, cs, x, out))
        pair_bare.append(form_pair_check.features(cells, cs, x_bare, out))
        pair_y += [_matches(expected, kv.key, kv.value) for kv in out]
        # Which expected pairs each box matches as a key and as a value (per box, not per
        # candidate: a box is in many candidates).
        as_key = [{i for i, e in enumerate(expected) if values_match(e["key"], c.text, "string", True)}
                  for c in cells]
        as_value = [{i for i, e in enumerate(expected) if values_match(e["value"], c.text, "string", True)}
                    for c in cells]
        ys += [bool(as_key[k] & as_value[v]) for k, v in zip(cs.key.tolist(), cs.value.tolist())]

    def stack(parts: list[np.ndarray], width: int) -> np.ndarray:
        return np.concatenate(parts) if parts else np.zeros((0, width), dtype=np.float32)

    n, m = len(form_links.FEATURES), len(form_pair_check.FEATURES)
    return Doc(expected, rule, cands, stack(xs, n), stack(bare, n), np.array(ys, dtype=int),
               stack(pair_x, m), stack(pair_bare, m), np.array(pair_y, dtype=int))


def _model(trees: int):
    from sklearn.ensemble import ExtraTreesClassifier

    # Extremely randomized trees, not gradient boosting: on the same features, folds and
    # candidates (each there twice, with and without its page's ruled lines) the link model
    # scores the unseen forms 0.548 / 0.549 / 0.550 against boosting's 0.541 / 0.545 / 0.544
    # (fold seeds 0-2, README). Leaves of 5 (fold seed 0: 10 or 20 lose 0.002, 0.005), 30 % of
    # the features per split (50 % loses 0.003); the ONNX file grows with each tree.
    return ExtraTreesClassifier(n_estimators=trees, min_samples_leaf=5, max_features=0.3, n_jobs=2,
                                random_state=SEED)


LINK_TREES = 50
CHECK_TREES = 100  # the pair check learns from a tenth as many rows


def _fit_links(docs: list[Doc]):
    """The link model, trained on the documents' candidates, each with and without its ruled lines."""
    return _model(LINK_TREES).fit(np.concatenate([d.x for d in docs] + [d.bare for d in docs]),
                                  np.concatenate([d.y for d in docs] * 2))


def _fit_check(docs: list[Doc]):
    """The pair check, trained on the documents' rule pairs, each with and without its ruled lines."""
    return _model(CHECK_TREES).fit(np.concatenate([d.pair_x for d in docs] + [d.pair_bare for d in docs]),
                                   np.concatenate([d.pair_y for d in docs] * 2))


@dataclass
class Probs:
    links: np.ndarray  # per candidate
    check: np.ndarray  # per rule pair


def _score(docs: list[Doc], probs: list[Probs], link_threshold: float | None, check_threshold: float | None):
    """Pair F1 of the rules' pairs (those the check keeps, with a threshold) and the links the
    link model adds (with a threshold), as `forms._page_pairs` makes them."""
    soft, exact = Counts(), Counts()
    for d, p in zip(docs, probs):
        pred = []
        at = at_pair = 0
        for (cells, cs), out in zip(d.cands, d.rule):
            check = p.check[at_pair:at_pair + len(out)]
            judged = check_threshold is not None and cells.scanned and len(cs)  # as form_pair_check.checked
            kept = form_pair_check.keep(out, check, check_threshold) if judged else out
            links = ([] if link_threshold is None
                     else form_links.choose_links(cells, cs, p.links[at:at + len(cs)], link_threshold))
            pred += [{"key": kv.key, "value": kv.value} for kv in list(kept) + forms.link_pairs(cells, links)]
            at += len(cs)
            at_pair += len(out)
        soft.add(_score_pairs(d.expected, pred, True))
        exact.add(_score_pairs(d.expected, pred, False))
    return soft.f1, exact.f1


def _export(model, width: int, out: Path, x_check: np.ndarray) -> None:
    from skl2onnx import to_onnx

    onx = to_onnx(model, np.zeros((1, width), dtype=np.float32),
                  options={id(model): {"zipmap": False}}, target_opset={"": 17, "ai.onnx.ml": 3})
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(onx.SerializeToString())
    diff = np.abs(form_links.LinkModel(out).predict(x_check) - model.predict_proba(x_check)[:, 1])
    print(f"{out.name}: ONNX vs scikit-learn probabilities: max difference {diff.max():.2e}")
    assert diff.max() < 1e-3, "the ONNX model disagrees with the trained one"
    print(f"wrote {out} ({out.stat().st_size // 1024} KB)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dataset", type=Path)
    ap.add_argument("cache", type=Path)
    ap.add_argument("--out-dir", type=Path, default=form_links.MODEL_PATH.parent,
                    help=f"where {form_links.MODEL_PATH.name} and {form_pair_check.MODEL_PATH.name} go")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--fold-seed", type=int, default=SEED,
                    help="how documents are dealt into folds (the spread over seeds 0-2 is the noise floor)")
    args = ap.parse_args()

    lines = [json.loads(l) for l in (args.dataset / "manifest.jsonl").read_text().splitlines() if l.strip()]
    docs = []
    for line in lines:
        path = args.cache / f"{line['id']}.json"
        if not path.is_file():
            continue
        doc = Document.model_validate_json(path.read_text())
        expected = line["expected"]["pairs"]
        docs.append(_page_data(doc, expected))
    print(f"{len(docs)} documents, {sum(len(d.y) for d in docs)} candidates "
          f"({sum(int(d.y.sum()) for d in docs)} expected pairs), {sum(len(d.pair_y) for d in docs)} rule pairs "
          f"({sum(int(d.pair_y.sum()) for d in docs)} expected)")

    rng = np.random.default_rng(args.fold_seed)
    fold = rng.permutation(len(docs)) % args.folds
    probs = [Probs(np.zeros(0), np.zeros(0)) for _ in docs]
    bare = [Probs(np.zeros(0), np.zeros(0)) for _ in docs]
    for f in range(args.folds):
        train = [d for d, k in zip(docs, fold) if k != f]
        links, check = _fit_links(train), _fit_check(train)
        for i, d in enumerate(docs):
            if fold[i] == f:
                if len(d.x):
                    probs[i].links = links.predict_proba(d.x)[:, 1]
                    bare[i].links = links.predict_proba(d.bare)[:, 1]
                if len(d.pair_x):
                    probs[i].check = check.predict_proba(d.pair_x)[:, 1]
                    bare[i].check = check.predict_proba(d.pair_bare)[:, 1]
    link_t, check_t = form_links.ADD_THRESHOLD, form_pair_check.KEEP_THRESHOLD
    cv = f"cross-validated, {args.folds} folds"
    print("rules alone: soft F1 %.3f, exact F1 %.3f" % _score(docs, probs, None, None))
    print(f"rules + links ({cv}), link threshold {link_t}, no check: soft F1 %.3f, exact F1 %.3f"
          % _score(docs, probs, link_t, None))
    for t in (0.2, 0.25, 0.3, 0.35, 0.4):
        mark = "  <- form_pair_check.KEEP_THRESHOLD" if t == check_t else ""
        print(f"rules checked + links ({cv}), check threshold {t}: soft F1 %.3f, exact F1 %.3f{mark}"
              % _score(docs, probs, link_t, t))
    for t in (0.2, 0.4, 0.5):
        print(f"rules checked + links ({cv}), link threshold {t}: soft F1 %.3f, exact F1 %.3f"
              % _score(docs, probs, t, check_t))
    print(f"the same without the ruled lines (OcrOptions.rulings off; a text-layer page has none either), "
          f"thresholds {link_t} / {check_t}: "
          "soft F1 %.3f, exact F1 %.3f" % _score(docs, bare, link_t, check_t))
    confidences = np.concatenate([p.check for p in probs])
    right = np.concatenate([d.pair_y for d in docs])
    for lo, hi in ((0.0, check_t), (check_t, 0.6), (0.6, 0.8), (0.8, 0.9), (0.9, 1.01)):
        sel = (confidences >= lo) & (confidences < hi)
        if sel.any():
            print(f"rule pairs the check gives {lo:.2f}-{min(hi, 1):.2f}: {int(sel.sum())}, "
                  f"right {right[sel].mean():.3f}")

    import skl2onnx.common.tree_ensemble as tree_ensemble

    # skl2onnx 1.20 passes a Python bool for a leaf's missing-value flag, which ONNX's int
    # attribute refuses; the features are never missing, so the flag is 0 or 1 alike.
    add_node = tree_ensemble.add_node
    tree_ensemble.add_node = lambda *a, nodes_missing_value_tracks_true=0, **k: add_node(
        *a, nodes_missing_value_tracks_true=int(nodes_missing_value_tracks_true), **k)
    _export(_fit_links(docs), len(form_links.FEATURES), args.out_dir / form_links.MODEL_PATH.name,
            np.concatenate([d.x for d in docs]))
    _export(_fit_check(docs), len(form_pair_check.FEATURES), args.out_dir / form_pair_check.MODEL_PATH.name,
            np.concatenate([d.pair_x for d in docs]))


if __name__ == "__main__":
    main()

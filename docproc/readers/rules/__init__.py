"""The CPU default reader: labels + geometry + types.

For each field of the schema: find its labels on the page lines (rapidfuzz), look for a
value of the field's type next to each (same line, the cell to the right, below in the same
column), score the candidates, and fall back to document-level evidence (passages of a
contract, the issuer line at the top, the largest amount near a total) only where that
evidence exists. A field with no evidence stays None. Then generic key-value pairs, line
items from tables, and the validation checks (docproc.checks).
"""

from __future__ import annotations

import functools
import re
from decimal import Decimal, InvalidOperation

from docproc.checks import apply_checks, icd10_shape
from docproc.document import Document, Extraction, FieldValue, union_bbox
from docproc.readers.rules import fallbacks, form_links, form_pair_check, passages
from docproc.readers.rules.candidates import (
    Candidate,
    column_total,
    is_label_line,
    near_label,
    range_near_label,
    rank,
)
from docproc.readers.rules.consistency import (
    plausible_tax,
    resolve_totals,
    rounded_total,
    tax_under_total,
    tendered_total,
)
from docproc.readers.rules.form_rows import grid_rows
from docproc.readers.rules.key_values import read_key_values
from docproc.readers.rules.labels import LabelHit, find_labels
from docproc.readers.rules.line_items import read_line_items
from docproc.readers.rules.view import DocView
from docproc.schemas import FieldSpec, Schema

MIN_CONFIDENCE = 0.2
# Digits OCR puts where a code's leading letter is: I->1, O->0, S->5, B->8, Z->2.
_ICD_LEAD = {"1": "I", "0": "O", "5": "S", "8": "B", "2": "Z"}
Answer = FieldValue | list[FieldValue] | None


# The two ends of a period: "flight_start" and "flight_end", "valid_from" and "valid_to".
_PERIOD_ENDS = {"start": "end", "begin": "end", "from": "to", "first": "last"}
_QUERY_STOP = {"the", "a", "an", "of", "and", "or", "for", "to", "in", "on", "by", "date", "dates", "first", "last"}
OFF_QUERY = 0.9  # a label none of whose words the field's query uses ("period" for a flight date)
COLUMN_ROW = 0.8  # the first amount under a heading whose column ends in a totals row
SINGLE_DATE = 0.9  # one date by a period's label says less than a printed "from - to" period
REPEATED = 0.7  # a label printed on many rows is a grid column heading, not the document's


def _period_partner(spec: FieldSpec, schema: Schema) -> tuple[FieldSpec, int] | None:
    """The other end of the period `spec` is one end of, and which end `spec` is (0 first, 1 last)."""
    words = spec.name.lower().split("_")
    names = {f.name.lower(): f for f in schema.fields if f.value_type == "date"}
    for k, w in enumerate(words):
        for first, last in _PERIOD_ENDS.items():
            if w in (first, last):
                other = "_".join(words[:k] + [last if w == first else first] + words[k + 1:])
                if other in names:
                    return names[other], 0 if w == first else 1
    return None


def _query_words(spec: FieldSpec) -> set[str]:
    words = re.findall(r"[a-z]+", f"{spec.query} {spec.name.replace('_', ' ')}".lower())
    return {w for w in words if w not in _QUERY_STOP and len(w) > 2}


def _drop_shadowed(hits: dict[str, list[LabelHit]]) -> None:
    """On one line, a label inside a longer label of another field is not a label
    ("total" inside "sub total", "date" inside "due date")."""
    by_line: dict[int, list[tuple[str, LabelHit]]] = {}
    for name, hs in hits.items():
        for h in hs:
            by_line.setdefault(h.line.index, []).append((name, h))
    for entries in by_line.values():
        for name, h in entries:
            for other, o in entries:
                if (other != name and o.start <= h.start and h.end <= o.end and (o.end - o.start) > (h.end - h.start)
                        and o.score >= h.score):
                    if h in hits[name]:
                        hits[name].remove(h)


def _form_like(view: DocView, c: Candidate) -> bool:
    """A value set out as a form entry, not taken from running text: a short line, and on the
    label's own line a colon (or dash) between them; a value in a cell of its own has a short
    line (its label's) before it."""
    text = c.line.text.strip()
    if len(text) > 60 or text.endswith((".", ",", ";")) or text[:1].islower():
        return False
    if c.how == "same line":
        return bool(re.search(r"[:\-–]\s*$", c.line.text[: c.offset + c.value.start]))
    prev = view.lines[c.line.index - 1].text.strip() if c.line.index > 0 else ""
    return 0 < len(prev) <= 40 and not prev.endswith((".", ",", ";"))


_CENTS = re.compile(r"\d[.,]\d{2}(?!\d)")
NO_CENTS = 0.8


class _FieldReader:
    def __init__(self, doc: Document, view: DocView, schema: Schema, hits: dict[str, list[LabelHit]]):
        self.doc, self.view, self.schema, self.hits = doc, view, schema, hits
        self._text: tuple[str, list] | None = None
        self.pools: dict[str, list[Candidate]] = {}  # money candidates, for choosing amounts together

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = passages.joined(self.view)
        return self._text[0]

    def _passage_value(self, hit: passages.PassageHit) -> FieldValue:
        # Locate the line that holds the passage start, for page and bbox.
        assert self._text is not None
        line = None
        for start, ln in self._text[1]:
            if start > hit.start:
                break
            line = ln
        page = line.page if line else None
        bbox = None
        if line is not None:
            start = next(s for s, ln in self._text[1] if ln is line)
            bbox = line.span_bbox(hit.start - start, hit.end - start)
        return FieldValue(value=hit.value, normalized=hit.normalized, confidence=hit.score, page=page,
                          bbox=bbox, source="rules", evidence="passage")

    @staticmethod
    def _passage_kind(spec: FieldSpec) -> str | None:
        """Which passage of running text answers the field, if any."""
        labels = " ".join(spec.labels).lower()
        if spec.type == "list" and spec.value_type == "string" and ("between" in labels or "among" in labels):
            return "parties"
        if "laws of" in labels:
            return "jurisdiction"
        if spec.value_type == "duration":
            return "term"
        if spec.value_type == "date" and ("as of" in labels or "entered into" in labels):
            return "effective_date"
        return None

    def _passage(self, spec: FieldSpec) -> Answer:
        kind = self._passage_kind(spec)
        if kind == "parties":
            got = (passages.parties(self.text) or passages.letter_parties(self.text)
                   or passages.defined_company(self.text))
            return [self._passage_value(h) for h in got] or None
        if kind == "jurisdiction":
            hit = passages.jurisdiction(self.text)
        elif kind == "term":
            hit = passages.term(self.text)
        elif kind == "effective_date":
            hit = passages.effective_date(self.text, self.view.ctx)
        else:
            return None
        return self._passage_value(hit) if hit else None

    def _id_list(self, spec: FieldSpec) -> Answer:
        """Codes listed under/after a label (e.g. diagnosis codes A-L)."""
        shape = icd10_shape if re.search(r"diagnos|icd", spec.name + spec.query, re.IGNORECASE) else None
        pattern = re.compile(spec.pattern) if spec.pattern else None
        out: list[FieldValue] = []
        seen: set[str] = set()
        for hit in self.hits[spec.name][:2]:
            lines = [hit.line] + self.view.below(hit.line, None, max_lines=4)[:4]
            for ln in lines:
                start = hit.end if ln is hit.line else 0
                for m in re.finditer(r"[A-Z0-9][A-Z0-9.]{2,9}", ln.text[start:]):
                    tok = m.group(0).rstrip(".")
                    if shape and tok[0].isdigit() and "." in tok:
                        tok = _ICD_LEAD.get(tok[0], tok[0]) + tok[1:]  # ICD-10 codes start with a letter
                    ok = shape(tok) if shape else (pattern.fullmatch(tok) if pattern else re.search(r"\d", tok))
                    if ok and tok not in seen and (shape is None or re.search(r"[A-Z]", tok[0])):
                        seen.add(tok)
                        out.append(FieldValue(value=tok, normalized=tok, confidence=round(0.7 * hit.score, 4),
                                              page=ln.page, bbox=ln.span_bbox(start + m.start(), start + m.end()),
                                              source="rules", evidence="below label"))
            if out:
                break
        return out or None

    def _row_count(self, spec: FieldSpec) -> Answer:
        """How many entry rows a grid under the field's heading label has (None without one:
        the line items may tell instead)."""
        for hit in self.hits[spec.name][:1]:
            others = {i for name, hs in self.hits.items() if name != spec.name for h in hs for i in [h.line.index]}
            rows = grid_rows(self.view, hit, lambda ln: ln.index in others and is_label_line(self.view, ln))
            if rows:
                box = union_bbox([ln.bbox for row in rows for ln in row])
                return FieldValue(value=str(len(rows)), normalized=len(rows), confidence=round(0.7 * hit.score, 4),
                                  page=hit.line.page, bbox=box, source="rules", evidence="grid rows")
        return None

    def _period(self, spec: FieldSpec) -> list[Candidate] | None:
        """One end of a period: also the periods next to either end's labels ("Flight Dates
        3/1/16 - 3/7/16"); labels the query does not speak of and grid headings weigh less.
        None when the field is no end of a period."""
        partner = _period_partner(spec, self.schema)
        if partner is None:
            return None
        other, which = partner
        own = {h.line.index for h in self.hits[spec.name][:12]}
        hits: dict[int, LabelHit] = {}
        for h in self.hits[spec.name] + self.hits[other.name]:
            if h.line.index not in hits or h.score > hits[h.line.index].score:
                hits[h.line.index] = h
        query = _query_words(spec) | _query_words(other)
        seen: dict[str, int] = {}  # on how many lines each label is printed
        for h in hits.values():
            seen[h.label] = seen.get(h.label, 0) + 1
        out: list[Candidate] = []
        for hit in sorted(hits.values(), key=lambda h: -h.score)[:12]:
            got = range_near_label(self.view, spec, hit, which)
            if hit.line.index in own:
                for c in near_label(self.view, spec, hit):
                    c.score *= SINGLE_DATE
                    got.append(c)
            for c in got:
                if not set(hit.label.split()) & query:
                    c.score *= OFF_QUERY
                if seen[hit.label] >= 3:
                    c.score *= REPEATED
            out.extend(got)
        return out

    def _labelled(self, spec: FieldSpec) -> list[Candidate]:
        cands = self._period(spec) if spec.value_type == "date" else None
        if cands is None:
            cands = []
            for hit in self.hits[spec.name][:12]:
                cands.extend(near_label(self.view, spec, hit))
        if spec.value_type == "money" and any(k in spec.name for k in fallbacks.TOTAL_NAMES):
            for c in [c for c in cands if c.how == "below"]:
                total = column_total(self.view, spec, c)
                if total is not None:  # the first row of a grid column is not the total
                    c.score *= COLUMN_ROW
                    cands.append(total)
        if spec.value_type == "money" and "gross" in f"{spec.name} {spec.query}".lower():
            for c in cands:  # "Net Total" is the amount after agency commission, not the gross
                if re.search(r"\bnet\b", c.line.text, re.IGNORECASE) and "gross" not in c.line.text.lower():
                    c.score *= 0.7
        if spec.value_type == "money" and any(k in spec.name for k in fallbacks.TOTAL_NAMES) and cands:
            # Where the totals print cents, a figure without them is a count or an amount whose
            # point OCR lost ("51.42" read "5142"): it neither wins nor sets the largest.
            cents = [c for c in cands if _CENTS.search(c.value.text)]
            if cents:
                for c in cands:
                    if not _CENTS.search(c.value.text):
                        c.score *= NO_CENTS
            # Of several "total" rows (total qty, total excl. tax, total), the amount payable is the largest.
            top = max(Decimal(str(c.value.normalized)) for c in (cents or cands))
            for c in cands:
                if Decimal(str(c.value.normalized)) < top:
                    c.score *= 0.85
        if spec.value_type == "money" and any(k in spec.name for k in fallbacks.TOTAL_NAMES):
            tendered_total(self.view, spec, cands)
            rounded_total(self.view, cands)
        return rank(cands)

    def _fallback(self, spec: FieldSpec, answers: dict[str, Answer]) -> Candidate | None:
        name, kind = spec.name, spec.value_type
        if kind == "money" and any(k in name for k in fallbacks.TOTAL_NAMES):
            near = [h.line for h in self.hits[name]]
            return fallbacks.largest_amount(self.view, spec, near)
        if kind == "date" and spec.required:
            return fallbacks.first_date(self.view, spec)
        if kind == "string" and name in fallbacks.ISSUER_NAMES:
            return fallbacks.issuer_name(self.view, spec, self._customer_lines)
        if kind == "string" and name.endswith("address") and name.split("_")[0] + "_name" in answers:
            issuer = answers.get(name.split("_")[0] + "_name")
            if isinstance(issuer, FieldValue) and issuer.evidence == "issuer line":
                line = fallbacks.issuer_line(self.view, self._customer_lines)
                if line is None:
                    return None
                names = fallbacks.name_lines(self.view, line)
                return fallbacks.address_after(self.view, spec, names[-1], union_bbox([ln.bbox for ln in names]))
        if kind == "enum" and name == "currency":
            return fallbacks.currency_value(self.view, spec)
        return None

    @functools.cached_property
    def _customer_lines(self) -> set[int]:
        """The customer's block (asked for by the issuer's name and address: found once)."""
        avoid: set[int] = set()
        heads = [h.line for name in ("customer_name", "customer_address") for h in self.hits.get(name, [])]
        # "To" alone on its line heads the addressee's block (in running text "to" is no label).
        heads += [ln for ln in self.view.lines if ln.text.strip(" :").lower() == "to"]
        for line in heads:
            avoid.add(line.index)
            avoid.update(ln.index for ln in self.view.below(line, None, max_lines=6)[:5])
        # The customer's name printed again elsewhere (a summary block, a contact line) is still
        # the customer's.
        names = {" ".join(self.view.lines[i].text.split()).casefold() for i in avoid}
        avoid.update(ln.index for ln in self.view.lines if " ".join(ln.text.split()).casefold() in names)
        return avoid

    def read(self, spec: FieldSpec, answers: dict[str, Answer]) -> Answer:
        passage = self._passage(spec)
        if passage:
            return passage
        if spec.type == "list":
            return self._id_list(spec) if spec.value_type == "id" else None
        if spec.value_type == "number" and spec.name.endswith("_count"):
            return self._row_count(spec)
        ranked = self._labelled(spec)
        if self._passage_kind(spec):
            # No passage of the running text held it: a label's neighbour still may, on a form
            # ("Term: 12 months"), but a label word inside a sentence points at nothing.
            ranked = [c for c in ranked if _form_like(self.view, c)]
        if spec.value_type == "money":
            fb = self._fallback(spec, answers)
            self.pools[spec.name] = ranked + ([fb] if fb else [])
        best = ranked[0] if ranked else None
        return self.finish(spec, best, answers)

    def finish(self, spec: FieldSpec, best: Candidate | None, answers: dict[str, Answer]) -> Answer:
        if spec.name in fallbacks.ISSUER_NAMES and (best is None or best.score < 0.9):
            best = self._fallback(spec, answers) or best
        elif best is not None and spec.value_type == "string" and spec.name.endswith("address") \
                and not fallbacks.address_like(best.value.text):
            # "Address" labels a customer block too, whose neighbour may be anything ("CASH"):
            # what is no address gives way to the block under the issuer's name.
            best = self._fallback(spec, answers) or best
        elif best is None:
            best = self._fallback(spec, answers)
        if best is None or best.score < MIN_CONFIDENCE:
            return None
        if spec.value_type == "money" and best.value.currency is None and self.view.ctx.currency:
            fv = best.to_field_value()
            fv.currency = self.view.ctx.currency
            return fv
        return best.to_field_value()


def _keep_tax_under_total(reader: _FieldReader, schema: Schema, answers: dict[str, Answer]) -> None:
    """A tax answer that is no plausible part of the total gives way to the best tax candidate
    that is, or to no answer (docproc.readers.rules.consistency.tax_under_total)."""
    tax, total = answers.get("tax"), answers.get("total")
    if not (isinstance(tax, FieldValue) and isinstance(total, FieldValue)):
        return
    try:
        amount, whole = Decimal(str(tax.normalized)), Decimal(str(total.normalized))
        if whole <= 0 or plausible_tax(amount, tax.value, whole, total.value):
            return
        better = tax_under_total(reader.pools.get("tax", []), whole, total.value)
    except (InvalidOperation, ValueError):
        return
    answers["tax"] = reader.finish(schema.field("tax"), better, answers) if better else None


class RulesReader:
    name = "rules"

    def __init__(self, semantic_labels: bool = False, label_encoder: str | None = None) -> None:
        # The form models load with the reader (once per process), not on the first form.
        form_links.default_model()
        form_pair_check.default_model()
        self._encoder = None
        if semantic_labels:
            from docproc.readers.rules.semantic import get_encoder

            self._encoder = get_encoder(label_encoder)

    def read(self, doc: Document, schema: Schema | None) -> Extraction:
        view = DocView.of(doc)
        ext = Extraction(key_values=read_key_values(view, doc))
        if schema is None:
            return ext
        if schema.line_items:
            ext.line_items = read_line_items(doc.pages)
        hits = {spec.name: find_labels(view.lines, spec) for spec in schema.fields}
        if self._encoder is not None:
            from docproc.readers.rules.semantic import semantic_hits

            for spec in schema.fields:  # only where no label of the field is printed
                if not hits[spec.name]:
                    hits[spec.name] = semantic_hits(view.lines, spec, self._encoder)
        _drop_shadowed(hits)
        for hs in hits.values():
            for h in hs:
                view.label_spans.setdefault(h.line.index, []).append((h.start, h.end))
        reader = _FieldReader(doc, view, schema, hits)
        answers: dict[str, Answer] = {}
        for spec in schema.fields:
            answers[spec.name] = reader.read(spec, answers)
        consistent = resolve_totals(reader.pools)
        for spec in schema.fields:
            if consistent and spec.name in consistent:
                answers[spec.name] = reader.finish(spec, consistent[spec.name], answers)
        _keep_tax_under_total(reader, schema, answers)
        for spec in schema.fields:
            if (spec.value_type == "number" and spec.name.endswith("_count") and schema.line_items and ext.line_items
                    and answers.get(spec.name) is None):
                n = len(ext.line_items)
                answers[spec.name] = FieldValue(value=str(n), normalized=n, confidence=0.6, source="rules",
                                                evidence="line item count")
        ext.fields = answers
        return apply_checks(ext, schema)

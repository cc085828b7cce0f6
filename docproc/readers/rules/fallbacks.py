"""Document-level fallbacks for fields no label led to: the largest amount near a total,
the first prominent line at the top (the issuer), the address block under it, the first date,
the document's currency. Each gives a lower confidence than a labelled value, but for a date
that is the only one the document prints."""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal

from docproc.document import union_bbox
from docproc.normalize import find_amounts, find_dates
from docproc.readers.rules.candidates import Candidate
from docproc.readers.rules.values import Value, clean_name
from docproc.readers.rules.view import DocView, TextLine
from docproc.schemas import FieldSpec

# Words that make a line a document title or a field label rather than a name.
_TITLE_WORDS = re.compile(
    r"\b(invoice|receipt|rechnung|facture|factura|tax|bill|order|statement|quotation|page|tel|fax|phone|"
    r"date|total|gst|vat|reg|no\.?|cash|thank|welcome|copy|original|www|http|email|e-mail|@)\b",
    re.IGNORECASE,
)
# Legal-form words: a line with one of them names a company.
_LEGAL_FORM = re.compile(
    r"\b(inc|llc|ltd|limited|gmbh|ag|kg|co|corp|corporation|company|plc|s\.?a|s\.?a\.?s|b\.?v|n\.?v|"
    r"sdn\.?\s*bhd|bhd|enterprise|trading|pte|pty|oy|ab|as|sarl|srl|spa)\b\.?|\bs/b\b",
    re.IGNORECASE,
)
_ADDRESS_STOP = re.compile(
    r"\b(tel|telephone|fax|phone|h/?p|gst|vat|receipt|cashier|date|www|e-?mail|bill|counter|table|guest\s*check)\b|@"
    r"|invo[il1]ce\b"  # also run together with the word before: "TAXINVOICE"
    r"|\b0\d{1,2}[- ]?\d{3,4}[- ]?\d{4}\b|\+\d{2,3}[- ]?\d"  # a phone number
    r"|\b\d{3,4}[ -]\d{2,4}[ -]\d{3,4}\b",  # one in three groups ("1800 88 1231")
    re.IGNORECASE)
# A company registration line under a name: "(CO.REG : 933109-X)", "Company No: 002643278-A", "(1234-X)".
# ("CO-REG:", OCR's "CO.RFG", "(Co. No. 113825-W)")
# ("Conpany No:002643278-A": OCR's slip in the word, or any word before a company number's shape)
_REG_WORDS = (r"\b(co[.-]?\s*r[ef]g|co\.\s*no|c[o0][mn]{1,2}pa[nm]y\s*(no|reg)|reg(istration)?\.?\s*no|br\s*no|roc)\b"
              r"|\bno\s*[:.]\s*\d{6,12}-?[a-z]\b")
# ... or a bare code, labelled or not ("822737-X", "Site: 2395").
_REGISTRATION = re.compile(_REG_WORDS + r"|^[\s(]*[\w-]*\d[\w-]*[)\s.]*$|^\s*[A-Za-z]+\s*[:#]\s*\d+\s*$",
                           re.IGNORECASE)
_REGISTRATION_LABEL = re.compile(_REG_WORDS, re.IGNORECASE)
_LETTERS = re.compile(r"[A-Za-z]")

TOTAL_NAMES = ("total", "gross", "amount_due", "total_charge", "grand_total")
ISSUER_NAMES = ("vendor_name", "seller_name", "merchant_name", "company_name", "issuer_name")


def _candidate(spec: FieldSpec, line: TextLine, value: Value, score: float, how: str, offset: int = 0) -> Candidate:
    return Candidate(spec.name, value, line, offset, score, how)


_CENTS = re.compile(r"[.,]\d{2}")


def largest_amount(view: DocView, spec: FieldSpec, near: list[TextLine]) -> Candidate | None:
    """The largest amount on lines near a total label (or, failing that, on the document)."""
    rows = near + [o for ln in near for o in view.right_of(ln, max_gap=1.0)]
    # The document-wide pool leaves out the letterhead (addresses are full of numbers).
    body = [ln for ln in view.lines if ln.page > 1 or ln.bbox[1] > 0.3]
    pools = [(rows, 0.45, "largest near total")] + ([(body, 0.25, "largest amount")] if spec.required else [])
    for lines, score, how in pools:
        best: tuple[Decimal, TextLine, object] | None = None
        for line in lines:
            if not _CENTS.search(line.text):
                continue  # no amount with cents on it (the test below, for the whole line at once)
            for a in find_amounts(line.text):
                if not re.search(r"[.,]\d{2}$", a.text.rstrip(" €$£A-Z")):
                    continue
                amount = Decimal(str(a.normalized))
                if best is None or amount > best[0]:
                    best = (amount, line, a)
        if best:
            _, line, a = best
            return _candidate(spec, line, Value(a.start, a.end, a.text, a.normalized, a.currency), score, how)
    return None


# Confidence of an unlabelled date: the document's only date (every date printed on it is the
# same day) is its date; the first of several is a guess. Measured on the receipts dev set
# (`docproc eval`, 2026-12-04): 46 of 47 "only date" answers right, 1 of 3 "first date".
ONLY_DATE, FIRST_DATE = 0.9, 0.35


def first_date(view: DocView, spec: FieldSpec) -> Candidate | None:
    first = None
    for line in view.lines[:60]:
        found = find_dates(line.text, view.ctx.date_order)
        if found:
            first = (line, found[0])
            break
    if first is None:
        return glued_date(view, spec)
    line, s = first
    only = not any(d.normalized != s.normalized  # (stops at the first other day)
                   for ln in view.lines for d in find_dates(ln.text, view.ctx.date_order))
    return _candidate(spec, line, Value(s.start, s.end, s.text, s.normalized),
                      ONLY_DATE if only else FIRST_DATE, "only date" if only else "first date")


# A day-first date whose first separators OCR lost: "2703/2018", "27032018" (a whole token).
_GLUED_DATE = re.compile(r"(?<![\w/.-])(\d{2})(\d{2})/?((?:19|20)\d{2})(?![\w/.-])")


def glued_date(view: DocView, spec: FieldSpec) -> Candidate | None:
    """The last resort when no line holds a date: the first token that reads as a day-first
    date with its separators lost (in a month-first document such a token is too ambiguous)."""
    if view.ctx.date_order == "MDY":
        return None
    for line in view.lines[:60]:
        for m in _GLUED_DATE.finditer(line.text):
            found = find_dates(f"{m.group(1)}/{m.group(2)}/{m.group(3)}", "DMY")
            if found:
                return _candidate(spec, line, Value(m.start(), m.end(), m.group(0), found[0].normalized),
                                  0.25, "date without separators")
    return None


def _is_name_like(line: TextLine) -> bool:
    text = clean_name(line.text)  # "AEON CO. (M) BHD (126926-H)": the registration number is no part of it
    letters = len(_LETTERS.findall(text))
    return letters >= 3 and letters >= 0.5 * len(text.replace(" ", "")) and not find_dates(text)


def issuer_line(view: DocView, avoid: set[int]) -> TextLine | None:
    """The issuer's name: a company-like line near the top of page 1, else the first
    prominent (tallest) name-like line of the top quarter."""
    top = [ln for ln in view.page_lines(1) if ln.bbox[1] < 0.35 and ln.index not in avoid and _is_name_like(ln)]
    if not top:
        return None
    # Names are printed in capitals or title case; handwriting read as lowercase is not one.
    plain = [ln for ln in top if not _TITLE_WORDS.search(ln.text) and not ln.text.islower()][:3]
    company = next((ln for ln in plain if _LEGAL_FORM.search(ln.text)), None)
    if company is None:
        # No company named at the top (or only the customer): many invoices print the issuer's
        # legal name in the footer ("Fiverr International Ltd.", "Atlassian Pty Ltd, Level 6, ...").
        company = next((ln for ln in view.page_lines(1) if ln.bbox[1] > FOOTER and ln.index not in avoid
                        and _LEGAL_FORM.search(_name_segment(ln.text)) and _is_name_like(ln)
                        and not _TITLE_WORDS.search(_name_segment(ln.text))), None)
    return company or (plain[0] if plain else None)


FOOTER = 0.75  # of the page's height: below it, a company's line is the footer's imprint
_SEGMENTS = re.compile(r"\s*(?:,|\s[•|·]\s)\s*")


def _name_segment(text: str) -> str:
    """A company's name without the address printed after it on its line: "Medienpilot GmbH &
    Co. KG • Am Saueracker 23 • 91244 Reichenschwand", "Atlassian Pty Ltd, Level 6, 341 George St"
    (cut only after a legal form, where a later part holds a number: "Netlify, Inc" stays)."""
    parts = _SEGMENTS.split(text)
    if len(parts) > 1 and _LEGAL_FORM.search(parts[0]) and any(re.search(r"\d", p) for p in parts[1:]):
        return parts[0]
    return text


_LEGAL_START = re.compile(r"^\s*(?:\(|" + _LEGAL_FORM.pattern + ")", re.IGNORECASE)


def _adjacent(upper: TextLine, lower: TextLine) -> bool:
    """Two lines of one printed name: stacked with no gap, of about the same size."""
    h = max(upper.height, lower.height)
    # OCR boxes of tightly set lines overlap, up to about half a line (not one row, though).
    return (upper.page == lower.page and -0.6 * h <= lower.bbox[1] - upper.bbox[3] <= 0.6 * h
            and lower.cy - upper.cy >= 0.3 * h and min(upper.height, lower.height) >= 0.7 * h)


def name_lines(view: DocView, line: TextLine) -> list[TextLine]:
    """A name printed over two lines: "PASARAYA BORONG PINTAR" / "SDN BHD", or
    "HOME MASTER HARDWARE &" / "ELECTRICAL"."""
    lines = [line]
    prev = view.lines[line.index - 1] if line.index > 0 else None
    if (prev is not None and _LEGAL_START.search(line.text) and _adjacent(prev, line) and _is_name_like(prev)
            and not _TITLE_WORDS.search(prev.text) and not prev.text.islower()):
        lines.insert(0, prev)
    # OCR may cut a wide name on one row into pieces ("F Y EAGLE" | "ENTERPR ISE").
    for o in view.right_of(line, max_gap=3 * line.height)[:1]:
        if (abs(o.height - line.height) <= 0.3 * line.height and _is_name_like(o)
                and not _TITLE_WORDS.search(o.text) and not o.text.islower()):
            lines.append(o)
    # The name goes on where its line breaks off: after "&", "and", "-", or inside a bracket
    # ("ENTERPRISE (SETIA" / "ALAM) SDN BHD").
    while len(lines) < 4:
        last = lines[-1]
        nxt = view.lines[last.index + 1] if last.index + 1 < len(view.lines) else None
        text = " ".join(ln.text for ln in lines)
        open_bracket = text.count("(") > text.count(")")
        if nxt is None or not (re.search(r"(?:&|\band|-)\s*$", last.text, re.IGNORECASE) or open_bracket):
            break
        if not (_adjacent(last, nxt) and _is_name_like(nxt) and not _TITLE_WORDS.search(nxt.text)):
            break
        lines.append(nxt)
    return lines


_NAME_LABEL = re.compile(r"^\s*[A-Za-z]+\s*:\s*(?=\S)")  # "Dimiliki: BANH MI CAFE SDN BHD" (owned by)
# "99 SPEED MART S/B 519537-X)", and as OCR reads it on a poor copy: "519E37-X)", "S7B519537-X>"
_BARE_CODE = re.compile(r"\s+[(\[<]?(?=(?:[0-9A-Z]*\d){4})[0-9A-Z]{4,10}-?[A-Z][)\]>]?\s*$")


def _name_text(text: str) -> str:
    """The printed name without what is printed around it: a label before it, a registration
    number after it, trailing punctuation (a full stop stays after abbreviations: "SDN. BHD.")."""
    text = " ".join(unicodedata.normalize("NFKC", text).split())
    bare = _BARE_CODE.sub("", _NAME_LABEL.sub("", text))
    text = bare if len(_LETTERS.findall(bare)) >= 3 else text
    out = text.strip(" .:-")
    words = out.split()
    if text.rstrip().endswith(".") and any(re.fullmatch(r"[A-Za-z]{1,4}\.", w) for w in words[:-1]):
        out += "."
    return out


def issuer_name(view: DocView, spec: FieldSpec, avoid: set[int]) -> Candidate | None:
    line = issuer_line(view, avoid)
    if line is None:
        return None
    lines = name_lines(view, line)
    text = _name_text(_name_segment(" ".join(ln.text.strip() for ln in lines)))
    cand = _candidate(spec, lines[0], Value(0, len(lines[0].text), text, clean_name(text)), 0.5, "issuer line")
    if len(lines) > 1:
        cand.box = union_bbox([ln.bbox for ln in lines])
    return cand


def address_like(text: str) -> bool:
    """Could be (part of) a postal address: a number and at least two words."""
    return bool(re.search(r"\d", text)) and len(re.findall(r"[A-Za-z]{2,}", text)) >= 2


def _plain(text: str) -> str:
    """Text as a pattern should see it: compatibility forms folded ("：" is ":"), and a line
    printed letter by letter ("T e l ： 0 3 - 4 1") closed up."""
    text = unicodedata.normalize("NFKC", text)
    tokens = text.split()
    if len(tokens) >= 4 and sum(len(t) == 1 for t in tokens) >= 0.7 * len(tokens):
        return "".join(tokens)
    return text


_HOUSE_NUMBER = re.compile(r"^\s*(?:no\b|lot\b|unit\b|\d{1,4}(?!\d))", re.IGNORECASE)  # not a postcode


def _branch_line(view: DocView, line: TextLine, column) -> bool:
    """A line between the name and the address that names the branch or the shop's trade
    ("MYDIN MART SRI MUDA", "BISTRO & CAFE"): no digit, no comma, and the next line starts
    with the house number."""
    if re.search(r"[\d,]", line.text):
        return False
    for _ in range(3):
        nxt = view.below(line, column, max_lines=2.5)
        if not nxt or not _REGISTRATION.search(nxt[0].text):
            break
        line = nxt[0]  # a registration number under the branch name
    return bool(nxt) and bool(_HOUSE_NUMBER.search(nxt[0].text))


# A full stop that ends an address part ("TAMAN SRI PUTRA. 81200", "SEKSYEN 9. TAMAN"): after a
# number or a word of 3+ letters and before the next part. OCR reads the small commas of
# thermal prints as full stops; abbreviations ("NO.", "JLN.", "P.T.") keep theirs.
_PART_STOP = re.compile(r"(?<=[0-9A-Za-z])\.(?= +[0-9A-Za-z(])")
_ABBREVIATION = re.compile(
    r"(?:^|[\s,.])(?:[A-Za-z]{1,2}|no|jln|jl|tmn|bdr|kg|lrg|st|rd|ave|blvd|bhd|sdn|flr|blk|ste)$", re.IGNORECASE)


def address_commas(text: str) -> str:
    return _PART_STOP.sub(lambda m: "." if _ABBREVIATION.search(text[:m.start()]) else ",", text)


def address_after(view: DocView, spec: FieldSpec, name_line: TextLine, column=None) -> Candidate | None:
    """The address block right under the issuer's name: following lines until a phone, tax id,
    date or title line (company registration numbers in brackets are skipped); or the rest of
    the name's own line, where the address follows the name on it ("Atlassian Pty Ltd, Level 6, ...")."""
    seg = _name_segment(name_line.text)
    rest = name_line.text[len(seg):].lstrip(" ,•|·")
    if seg != name_line.text and address_like(rest):
        start = len(name_line.text) - len(rest)
        plain = " ".join(re.sub(r"\s[•|·]\s", ", ", rest).split())
        return _candidate(spec, name_line, Value(start, len(name_line.text), rest, address_commas(plain)),
                          0.45, "address block")
    picked: list[TextLine] = []
    current = name_line
    for _ in range(8):
        below = view.below(current, column or name_line.bbox, max_lines=2.5)
        if not below:
            break
        ln = current = below[0]
        if not picked and (_REGISTRATION.search(ln.text) or (find_dates(ln.text) and len(ln.text.split()) <= 5)):
            continue  # a registration number (or a printed date) between the name and the address
        plain = _plain(ln.text)
        if _ADDRESS_STOP.search(plain) or find_dates(ln.text) or _REGISTRATION_LABEL.search(plain):
            break
        if not picked and _branch_line(view, ln, column or name_line.bbox):
            continue
        picked.append(ln)
        if len(picked) >= 5:
            break
    if not picked:
        return None
    text = " ".join(ln.text.strip() for ln in picked)
    first = picked[0]
    cand = _candidate(spec, first, Value(0, len(first.text), text, address_commas(" ".join(text.split()))),
                      0.45, "address block")
    cand.box = union_bbox([ln.bbox for ln in picked])
    return cand


def currency_value(view: DocView, spec: FieldSpec) -> Candidate | None:
    code = view.ctx.currency
    if code is None:
        return None
    for line in view.lines:
        for a in find_amounts(line.text):
            if a.currency == code:
                return _candidate(spec, line, Value(a.start, a.end, a.text, code), 0.7, "amount currency")
    for line in view.lines:
        if code in line.text:
            i = line.text.index(code)
            return _candidate(spec, line, Value(i, i + 3, code, code), 0.6, "currency code")
    return None

"""Passage search over running text (contracts): a label phrase, then the value after it,
even across line breaks. "governed by the laws of the State of X", "entered into as of <date>",
"by and between A and B", "for a period of two (2) years"."""

from __future__ import annotations

import re
from dataclasses import dataclass

from docproc.normalize import Context, find_dates, find_durations, infer_date_order
from docproc.readers.rules.view import DocView, TextLine

_PROPER = r"[A-Z][A-Za-z.'-]+(?:\s+(?:of\s+)?[A-Z][A-Za-z.'-]+){0,3}"
_JURISDICTION = re.compile(
    r"(?i:(?:governed|construed|interpreted|enforced)[^.;]{0,80}?\blaws?\s+of\s+(?:the\s+)?"
    r"((?:State|Commonwealth|Province|Republic|Kingdom|District)\s+of\s+)?)(" + _PROPER + ")",
)
# Written otherwise: "governed in all respects, whether as to validity, ..., by the laws of",
# "the laws and public policies of", "determined in accordance with the laws of", "The laws of
# the State of Delaware ... govern all matters": a named State, in a sentence about the law
# that governs.
_STATE_LAW = re.compile(r"(?i:\blaws?\b[^.;]{0,30}?\bof\s+the\s+(State|Commonwealth)\s+of\s+)(" + _PROPER + ")")
_GOVERNS = re.compile(r"govern|constru|interpret|in\s+accordance\s+with|enforce", re.IGNORECASE)
# Confidence of a governing-law clause: one that names "the State (Commonwealth...) of X" says
# outright that X is a place; "the laws of X" alone may go on to a country or a court.
JURISDICTION_NAMED, JURISDICTION_BARE = 0.95, 0.8
_EFFECTIVE = re.compile(
    r"(?:effective\s+(?:as\s+of|date|on)|dated\s+(?:as\s+of)?|entered\s+into\s+(?:as\s+of|on|this|effective)|"
    r"made\s+(?:and\s+entered\s+into\s+)?(?:as\s+of|on|this)|as\s+of)\s*[:(\"“]?",
    re.IGNORECASE,
)
_BETWEEN = re.compile(r"\b(?:by\s+and\s+)?(?:between|among)\s*:?\s+|\bPARTIES\s*:\s*", re.IGNORECASE)
_TERM = re.compile(r"\b(?:term|period)\s+(?:of|shall\s+be|is)\s+", re.IGNORECASE)
# Where a party's name ends: its description or defined-term bracket.
_PARTY_END = re.compile(
    r"\s*(?:\(|“|\"|,\s*an?\s|,\s+(?:having|with|whose|located|residing|organized|"
    r"incorporated|its|of|on\s+behalf|divisions|subsidiaries|affiliates)\b|,?\s+(?:hereinafter|herein|together|each|including|collectively)\b|\s+\(the\b"
    # without a comma: "AEROSONIC CORPORATION having its ...", "Cisco Systems, Inc. a California corporation"
    r"|,?\s+(?:having|whose|located|residing|organized|d/b/a|dba)\b|\s+with\s+(?:its|a|an|offices)\b"
    r"|,?\s+an?\s+(?:[A-Z][A-Za-z]+\s+){1,3}(?i:corporation|company|limited|partnership|bank|association|trust)\b"
    r"|(?<!\b[A-Z])(?<!Inc)(?<!Ltd)(?<!Corp)(?<!\bCo)(?<!\bJr)(?<!\bSr)(?<!\bMr)(?<!\bMs)(?<!\bDr)(?<!\bSt)"
    r"\.\s+(?=[A-Z][a-z]+\s+[a-z]))",  # a sentence ends
)
_DROP_WORDS = {"This", "The", "Such", "Each", "Any", "Recipient", "Company"}


@dataclass(frozen=True)
class PassageHit:
    value: str
    normalized: object
    start: int  # offsets into the joined text
    end: int
    score: float


def joined(view: DocView, max_chars: int = 200_000) -> tuple[str, list[tuple[int, TextLine]]]:
    """The document's text as one string, with where each line starts."""
    parts, starts, pos = [], [], 0
    for ln in view.lines:
        starts.append((pos, ln))
        parts.append(ln.text)
        pos += len(ln.text) + 1
        if pos > max_chars:
            break
    return " ".join(parts), starts


def _state_law(text: str):
    """Matches of _STATE_LAW whose sentence speaks of the governing law."""
    for m in _STATE_LAW.finditer(text):
        a = max(text.rfind(". ", 0, m.start()), m.start() - 300, 0)
        b = text.find(". ", m.end())
        sentence = text[a: b if 0 <= b < m.end() + 200 else m.end() + 200]
        if _GOVERNS.search(sentence):
            yield m


def jurisdiction(text: str) -> PassageHit | None:
    for m in list(_JURISDICTION.finditer(text)) + list(_state_law(text)):
        name = m.group(2)
        words = name.split()
        # Stop at words that are not part of a place name.
        keep = []
        for w in words:
            if keep and w.isupper() and len(w) > 2:
                break  # "Oregon. EMPLOYEE ...": the next sentence
            if w.endswith((".", ",")) and w[:-1]:
                keep.append(w[:-1])
                break
            if w in _DROP_WORDS or w.lower() in {"without", "and", "applicable", "as", "in", "excluding"}:
                break
            keep.append(w)
        name = " ".join(keep).rstrip(".,")
        if name and name.lower() not in {"the", "any", "such", "united"}:
            score = JURISDICTION_BARE if m.re is _STATE_LAW or not m.group(1) else JURISDICTION_NAMED
            return PassageHit(name, name, m.start(2), m.start(2) + len(name), score)
    return None


# Where the head names no date, the signature block does: "IN WITNESS WHEREOF ... executed this
# Agreement as of March 27, 2003", "Accepted and Agreed as of Feb. 8, 2011", "Date: 3/19/07".
_SIGNED = re.compile(r"(?i:\b(?:executed|signed|accepted|agreed)\b[^.]{0,120}?\b(?:as\s+of|this|on)\s+(?:the\s+)?)"
                     r"|\b(?:Date|DATE|Dated)\b\s*:?\s*")


_MONTHS = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?"
_MONTH_DAY = re.compile(r"\b" + _MONTHS + r"\s+\d{1,2}(?:st|nd|rd|th)?,?\s+\d{4}")
_DAY_MONTH = re.compile(r"\b\d{1,2}(?:st|nd|rd|th)?\s+(?:day\s+of\s+)?" + _MONTHS + r",?\s+\d{4}")


def date_order(text: str, ctx: Context):
    """The order of numeric dates: the document's own evidence (ctx) unless it had none, then
    how the text writes its dates in words ("March 4, 2009" is written month first)."""
    if infer_date_order([text]) is not None:
        return ctx.date_order
    md, dm = len(_MONTH_DAY.findall(text)), len(_DAY_MONTH.findall(text))
    return "MDY" if md > dm else ("DMY" if dm > md else ctx.date_order)


def signature_date(text: str, ctx: Context, tail: int = 3000) -> PassageHit | None:
    base = max(0, len(text) - tail)
    for m in _SIGNED.finditer(text[base:]):
        window = text[base + m.end(): base + m.end() + 40]
        found = find_dates(window, date_order(text, ctx))
        if found and found[0].start < 5:
            s = found[0]
            start = base + m.end() + s.start
            return PassageHit(s.text, s.normalized, start, start + len(s.text), 0.5)
    return None


def effective_date(text: str, ctx: Context) -> PassageHit | None:
    head = text[:6000]
    order = date_order(text, ctx)
    for m in _EFFECTIVE.finditer(head):
        window = head[m.end(): m.end() + 60]
        found = find_dates(window, order)
        if found and found[0].start < 25:
            s = found[0]
            return PassageHit(s.text, s.normalized, m.end() + s.start, m.end() + s.end, 0.8)
    signed = signature_date(text, ctx)
    if signed is not None:
        return signed
    found = find_dates(text[:1500], order)
    if found:
        s = found[0]
        return PassageHit(s.text, s.normalized, s.start, s.end, 0.4)
    return None


# What a period is about, from the words around it: the agreement's own term or how long its
# confidentiality lasts, versus the covenants NDAs of employees and buyers carry as well
# (non-solicitation, non-compete, standstill) and periods counted from someone's employment.
_TERM_ABOUT = re.compile(
    r"this\s+(?:letter\s+)?agreement|hereof|effective\s+date|confidential|disclos|non-?disclosure|"
    r"obligations|expire|terminate|remain\s+in\s+(?:full\s+force|effect)|survive", re.IGNORECASE)
_TERM_OTHER = re.compile(
    r"employ|resign|separation|solicit|hire|compet|standstill|consult|purchase|acquire|securities|exhibit|"
    r"consider\s+this|revoke|notice|cure|within|receipt|payment|compensation|severance", re.IGNORECASE)
_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
             "eighth": 8, "ninth": 9, "tenth": 10}
_ANNIVERSARY = re.compile(r"\b(" + "|".join(_ORDINALS) + r")\s*(?:\(\d+(?:st|nd|rd|th)\)\s*)?anniversary\b",
                          re.IGNORECASE)
_PERIOD = re.compile(r"\b(?:term|period)\s+of\s+|\b(?:term|period)\s+(?:shall\s+be|is)\s+|"
                     r"\bfor\s+(?=[\w() -]{3,30}\s(?:from|after|following)\s+the\s+(?:date|effective))", re.IGNORECASE)


def _about_agreement(text: str, start: int, end: int) -> bool:
    """The sentence around a period speaks of the agreement or its confidentiality, and of
    nothing else that has its own period."""
    a = max(text.rfind(". ", 0, start), start - 250, 0)
    b = text.find(". ", end)
    sentence = text[a: b if 0 <= b < end + 150 else end + 150]
    return bool(_TERM_ABOUT.search(sentence)) and not _TERM_OTHER.search(sentence)


# A section of its own about how long the agreement runs: "4. Term. This Agreement shall ...",
# "TERM OF AGREEMENT: ...", "Duration. ..." (a heading, so capitalised, then a full stop or colon).
_TERM_HEADING = re.compile(r"(?:^|\s)(?:\d{1,2}\.?\s*)?(?:Term|TERM|Duration|DURATION)"
                           r"(?:\s+(?:of|OF)\s+(?:(?:this|the|THIS|THE)\s+)?(?:Agreement|AGREEMENT))?\s*[.:]\s+")


# Confidence of a term by where it was found: a section of its own about the term says it
# outright; a period in any sentence about the agreement is as often a covenant's own period
# (a standstill, a non-solicitation) as the agreement's term.
TERM_SECTION, TERM_PERIOD = 0.8, 0.4


def term(text: str) -> PassageHit | None:
    """How long the agreement (or its duty of confidence) lasts: "for a period of two (2)
    years from the date hereof", "shall expire on the second anniversary of the Effective Date".
    Periods of the other covenants an NDA may carry are not its term."""
    for m in _TERM_HEADING.finditer(text):
        b = text.find(". ", m.end())
        sentence_end = b if 0 <= b < m.end() + 300 else m.end() + 300
        for s in find_durations(text[m.end(): sentence_end]):
            start, end = m.end() + s.start, m.end() + s.end
            if _about_agreement(text, start, end):
                return PassageHit(s.text, s.normalized, start, end, TERM_SECTION)
            break
    for m in _PERIOD.finditer(text):
        window = text[m.end(): m.end() + 40]
        found = find_durations(window)
        if found and found[0].start < 15:
            s = found[0]
            start, end = m.end() + s.start, m.end() + s.end
            if _about_agreement(text, start, end):
                return PassageHit(s.text, s.normalized, start, end, TERM_PERIOD)
    for m in _ANNIVERSARY.finditer(text):
        if _about_agreement(text, m.start(), m.end()):
            n = _ORDINALS[m.group(1).lower()]
            return PassageHit(m.group(0), f"P{n}Y", m.start(), m.end(), 0.5)
    return None


# How the ground truth convention writes a legal form: "Inc." not "Incorporated", "LLC" and
# "LP" without dots, "and" for "&" (rules of spelling, not names).
_FORMS = [(re.compile(r"\bIncorporated\b\.?"), "Inc."), (re.compile(r"\b(?i:inc)$"), "Inc."), (re.compile(r"\bL\.L\.C\.?"), "LLC"),
          (re.compile(r"\bL\.P\.?"), "LP"), (re.compile(r"\s*&\s*"), " and ")]
_LEGAL_FORM = re.compile(r"\b(?:Inc\.?|LLC|LP|Corporation|Corp\.?|Company|Co\.|Ltd\.?|Limited|N\.A\.|plc|GmbH|AG|S\.A\.)$")


def _clean_party(raw: str) -> str:
    end = _PARTY_END.search(raw)
    name = raw[: end.start()] if end else raw
    name = re.sub(r"^(?:the\s+)?", "", name.strip(" ,;:\"“”"), flags=re.IGNORECASE)
    name = name.replace(",", "")
    for pattern, repl in _FORMS:
        name = pattern.sub(repl, name)
    return " ".join(name.split()).strip(" .") + ("." if name.rstrip().endswith(".") and len(name.split()) > 1 else "")


def parties(text: str) -> list[PassageHit]:
    """The parties named after "between"/"among": split on the top-level "and"."""
    for m in _BETWEEN.finditer(text[:8000]):
        window = text[m.end(): m.end() + 600]
        stop = re.search(r"\.\s+(?:[A-Z][a-z]+\s){0,3}(?:WHEREAS|RECITALS|Whereas|In\s+consideration|The\s+parties|NOW)|WHEREAS|RECITALS|\bwitnesseth\b", window, re.IGNORECASE)
        window = window[: stop.start()] if stop else window
        # Split at "and" outside brackets and quotes.
        depth, pieces, last = 0, [], 0
        for tok in re.finditer(r"[()]|\band\b", window):
            if tok.group(0) == "(":
                depth += 1
            elif tok.group(0) == ")":
                depth = max(0, depth - 1)
            elif depth == 0:
                before = window[last: tok.start()]
                if re.search(r"[A-Za-z]", before) and (re.search(r"[,)\"”]\s*$", before) or len(pieces) == 0):
                    pieces.append((last, tok.start()))
                    last = tok.end()
        pieces.append((last, len(window)))
        out = []
        for a, b in pieces[:4]:
            name = _clean_party(window[a:b])
            if 2 <= len(name) <= 100 and re.match(r"[A-Z0-9]", name) and name.split()[0] not in _DROP_WORDS:
                out.append(PassageHit(name, name, m.end() + a, m.end() + b, 0.6))
        if len(out) >= 2:
            return out[:4]
        if len(out) == 1 and m.start() < 3000 and _LEGAL_FORM.search(out[0].value):
            # "between Acme, Inc. (the "Company") and the undersigned": one named party.
            return [PassageHit(out[0].value, out[0].normalized, out[0].start, out[0].end, 0.5)]
    return []


# A letter agreement names its parties in its head (letterhead, addressee) and in the first
# sentence after the salutation ("... regarding Buckeye Technologies Inc. (the “Company”)").
_SALUTATION = re.compile(r"\b(?:Ladies\s+and\s+Gentlemen|Dear\s+(?:Sirs?|Madam|Mr\.|Ms\.|Mrs\.|Dr\.|[A-Z][a-z]+))\b")
_FORM_WORD = re.compile(r"^(?:Inc\.?|LLC|L\.L\.C\.|LP|L\.P\.|LLP|Corporation|Corp\.?|Company|Co\.|Ltd\.?|Limited|"
                        r"plc|PLC|N\.V\.|B\.V\.|AG|GmbH|S\.A\.|INC\.?|CORPORATION|COMPANY|LIMITED)$")
_NAME_WORD = re.compile(r"^(?:[A-Z][\w.'’&/-]*|[a-z]{1,2}[A-Z][\w.'’&/-]*|&|and|of)$")  # also "nStor", "eBay"
# Words of a letter's head that are not part of a name before them.
_HEAD_WORDS = {"LOGO", "CONFIDENTIAL", "STRICTLY", "PERSONAL", "PRIVILEGED", "AND", "Attn", "Attention", "Re", "RE",
               "To", "CEO", "President", "Officer", "Director", "Exhibit", "EXHIBIT", "Agreement", "AGREEMENT",
               "The", "This", "Dear", "Gentlemen", "Ladies"}


def _companies(text: str, base: int) -> list[PassageHit]:
    """Names that end in a legal form: up to five capitalised words before "Inc.", "LLC"..."""
    out: list[PassageHit] = []
    tokens = list(re.finditer(r"[^\s,]+", text))
    for k, tok in enumerate(tokens):
        if not _FORM_WORD.match(tok.group(0)):
            continue
        if k + 1 < len(tokens) and _FORM_WORD.match(tokens[k + 1].group(0)):
            continue  # "Caribou Coffee Company, Inc.": the name ends at the last form word
        j = k
        while j > 0 and k - j < 6 and _NAME_WORD.match(tokens[j - 1].group(0)) \
                and tokens[j - 1].group(0).strip(".") not in _HEAD_WORDS \
                and not (_FORM_WORD.match(tokens[j - 1].group(0)) and k - j >= 1):
            j -= 1
        while j < k and tokens[j].group(0) in {"&", "and", "of"}:
            j += 1
        if j == k:
            continue
        name = _clean_party(text[tokens[j].start(): tok.end()])
        if name and not any(h.value.lower() == name.lower() for h in out):
            out.append(PassageHit(name, name, base + tokens[j].start(), base + tok.end(), 0.5))
    return out


def letter_parties(text: str) -> list[PassageHit]:
    """The parties of a letter agreement: the companies in its head before the salutation and,
    while fewer than two, those of the first sentence after it."""
    m = _SALUTATION.search(text[:4000])
    if m is None:
        return []
    head_start = max(0, m.start() - 600)
    found = _companies(text[head_start: m.start()], head_start)
    body = text[m.end(): m.end() + 400]
    for hit in _companies(body, m.end()):
        if len(found) >= 2:
            break
        if not any(h.value.lower() == hit.value.lower() for h in found):
            found.append(hit)
    return found[:2]


_DEFINED = re.compile(r"^\s*,?\s*\((?:[^()]{0,80}?)?(?:the\s+)?[“\"”]")


def defined_company(text: str, head: int = 3000) -> list[PassageHit]:
    """With no party list, the company the agreement defines by a term of its own in its
    opening text ("As an associate of Ann Taylor, Inc. (the “Company”), you ...")."""
    for hit in _companies(text[:head], 0):
        if _DEFINED.match(text[hit.end: hit.end + 100]):
            return [PassageHit(hit.value, hit.normalized, hit.start, hit.end, 0.4)]
    return []

"""VLM reader: a vision-language model reads the page image plus the page's layout text and
answers the schema's field queries; answers are grounded back to the page's words.

Two parts:
- `answer_fields`: the glue every VLM-backed reader shares (local model, HTTP endpoint, hybrid):
  page selection, prompts, batched generation, strict parsing with one batched repair round,
  grounding, normalization and confidence. It talks to any `Generator`.
- `LocalVlm`: a transformers image-text-to-text model (Qwen2-VL / Qwen2.5-VL) loaded once per
  process from a local directory, with xgrammar constraining the output to the answer schema.

torch/transformers are imported only when a local model is loaded (the `vlm` extra).
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Protocol

from docproc import normalize as norm
from docproc import sandbox
from docproc.document import Document, Extraction, FieldValue
from docproc.errors import DocprocError
from docproc.options import ReaderOptions
from docproc.readers import grounding, parsing, prompt
from docproc.schemas import FieldSpec, Schema

log = logging.getLogger(__name__)

UNGROUNDED_FACTOR = 0.2  # an answer not found on the page keeps at most this share of confidence
DISAGREE_FACTOR = 0.7  # the rules reader read something else
IMAGE_THREADS = min(8, os.cpu_count() or 1)  # page images decoded at once (answer_fields)
STATIC_PAD = 256  # prompt-length step with a static KV cache (LocalVlm)


@dataclass
class Prompt:
    """One generation request: page image (or None), user text, and the fields it asks for."""

    text: str
    fields: list[FieldSpec]
    image: object | None = None  # PIL image
    history: list[tuple[str, str]] = field(default_factory=list)  # (role, text) after the first turn


@dataclass
class Reply:
    text: str
    token_prob: float = 1.0  # geometric mean probability of the generated tokens; 1.0 if unknown
    tokens: int = 0


class Generator(Protocol):
    def generate(self, prompts: list[Prompt]) -> list[Reply]: ...


# --------------------------------------------------------------------------- page images


def page_images(doc: Document, numbers: list[int], max_pixels: int) -> dict[int, object]:
    """Rendered images of `numbers`, scaled to at most `max_pixels`; pages that fail are left out
    (the model then reads the layout text alone)."""
    if not numbers or max_pixels <= 0:
        return {}
    from docproc.options import Limits, RenderOptions

    out: dict[int, object] = {}
    try:
        from docproc import render

        for n, img in render.render_pages(doc.source, RenderOptions(), Limits(), sorted(numbers)):
            if img is None:
                continue
            scale = math.sqrt(max_pixels / max(1, img.width * img.height))
            if scale < 1:
                img = img.resize((max(28, int(img.width * scale)), max(28, int(img.height * scale))))
            out[n] = img.convert("RGB")
    except (DocprocError, ImportError, OSError, StopIteration) as exc:
        log.warning("vlm: page images unavailable for %s: %s", doc.source.sha256[:12], type(exc).__name__)
    return out


# --------------------------------------------------------------------------- the shared glue


def _context(doc: Document) -> norm.Context:
    texts = [p.text for p in doc.pages]
    joined = "\n".join(texts)
    currency = norm.detect_currency(joined)
    return norm.Context(date_order=norm.infer_date_order(texts, currency), currency=currency)


def _normalized(spec: FieldSpec, raw: str, ctx: norm.Context) -> tuple[object, str | None]:
    kind = spec.value_type
    if kind == "money":
        got = norm.normalize_money(raw)
        return (got[0], got[1] or ctx.currency) if got else (None, None)
    return norm.normalize(kind, raw, ctx, spec.enum or None), None


def _same(a: FieldValue | None, b: FieldValue | None) -> bool:
    if a is None or b is None:
        return False
    if a.normalized is not None and b.normalized is not None:
        return str(a.normalized) == str(b.normalized)
    return grounding._squash(a.value) == grounding._squash(b.value)


def score(token_prob: float, ground: grounding.Grounding, typed_ok: bool, agree: bool | None) -> float:
    """Confidence from the model's token probabilities, grounding, type check and the rules reader.

    agree: True/False when the rules reader read this field too, None when it did not."""
    conf = token_prob * (ground.score if ground.grounded else ground.score * UNGROUNDED_FACTOR)
    if not typed_ok:
        conf *= 0.5
    if agree is True:
        conf = 1 - (1 - conf) * 0.5  # two independent readers saying the same thing
    elif agree is False:
        conf *= DISAGREE_FACTOR
    return round(max(0.0, min(1.0, conf)), 3)


def _one_value(spec: FieldSpec, raw: str, reply: Reply, doc: Document, page_number: int,
               ctx: norm.Context, rules_value: FieldValue | None, source: str) -> FieldValue:
    pages = [p for p in doc.pages if p.number == page_number] or doc.pages
    ground = grounding.ground(raw, pages, spec.value_type)
    if not ground.grounded and len(doc.pages) > 1:  # the answer may sit on another page
        other = grounding.ground(raw, doc.pages, spec.value_type)
        ground = other if other.score > ground.score else ground
    normalized, currency = _normalized(spec, raw, ctx)
    typed_ok = normalized is not None or spec.value_type in ("string",)
    fv = FieldValue(value=raw, normalized=normalized, page=ground.page or page_number, bbox=ground.bbox,
                    currency=currency, source=source,
                    evidence=f"grounding {ground.score:.2f}" + ("" if ground.grounded else " ungrounded"))
    agree = None if rules_value is None else _same(fv, rules_value)
    fv.confidence = score(reply.token_prob, ground, typed_ok, agree)
    return fv


def _field_result(spec: FieldSpec, value, reply: Reply, doc: Document, page_number: int,
                  ctx: norm.Context, rules_value, source: str):
    if value is None:
        return None
    if spec.type == "list":
        items = value if isinstance(value, list) else [value]
        rules_items = rules_value if isinstance(rules_value, list) else []
        out = []
        for raw in items:
            match = next((r for r in rules_items if grounding._squash(r.value) == grounding._squash(raw)), None)
            out.append(_one_value(spec, raw, reply, doc, page_number, ctx,
                                  match if rules_items else None, source))
        return out or None
    if isinstance(value, list):
        value = value[0] if value else None
        if value is None:
            return None
    rv = rules_value if isinstance(rules_value, FieldValue) else None
    return _one_value(spec, value, reply, doc, page_number, ctx, rv, source)


def _generate_parsed(generator: Generator, prompts: list[Prompt]) -> list[tuple[parsing.Answer | None, Reply]]:
    """Generate, parse strictly, and give every failed reply one batched repair round."""
    replies = generator.generate(prompts)
    results: list[tuple[parsing.Answer | None, Reply]] = []
    retry: list[int] = []
    retry_prompts: list[Prompt] = []
    for i, (p, r) in enumerate(zip(prompts, replies)):
        try:
            results.append((parsing.parse_answer(r.text, p.fields), r))
        except parsing.AnswerError as exc:
            results.append((None, r))
            retry.append(i)
            retry_prompts.append(Prompt(
                text=p.text, fields=p.fields, image=p.image,
                history=[*p.history, ("assistant", r.text), ("user", parsing.repair_prompt(r.text, exc, p.fields))],
            ))
    if retry_prompts:
        for i, r in zip(retry, generator.generate(retry_prompts)):
            try:
                results[i] = (parsing.parse_answer(r.text, prompts[i].fields), r)
            except parsing.AnswerError:
                results[i] = (None, r)
    return results


def answer_fields(
    docs: list[Document],
    asks: list[list[FieldSpec]],
    generator: Generator,
    options: ReaderOptions,
    baselines: list[Extraction | None] | None = None,
    source: str = "vlm",
) -> tuple[list[dict[str, object]], list[list[str]]]:
    """Ask `generator` for `asks[i]` of `docs[i]`, one prompt per (document, selected page).

    Returns per document {field: FieldValue | list[FieldValue] | None} for the asked fields and
    warnings (field names and counts only, never values)."""
    baselines = baselines or [None] * len(docs)
    queries: list[prompt.PageQuery] = []
    for i, (doc, fields) in enumerate(zip(docs, asks)):
        if not fields:
            continue
        base = baselines[i]
        hint_pages = {}
        if base is not None:
            for name, fv in base.fields.items():
                first = fv[0] if isinstance(fv, list) and fv else fv
                if isinstance(first, FieldValue) and first.page:
                    hint_pages[name] = first.page
        by_page = prompt.select_pages(doc, fields, hint_pages, options.vlm_max_pages)
        pages = {p.number: p for p in doc.pages}
        for number, specs in by_page.items():
            queries.append(prompt.build_prompt(
                prompt.PageQuery(doc_index=i, page=pages[number], fields=specs), options.vlm_prompt_tokens))

    images: dict[tuple[int, int], object] = {}
    wanted = {i: [q.page.number for q in queries if q.doc_index == i] for i in range(len(docs))}
    wanted = {i: numbers for i, numbers in wanted.items() if numbers}
    # Documents' pages are decoded side by side (each in its own sandboxed child: the threads only
    # wait and resize): done one by one, a batch of 64 pages spent longer here than on the GPU.
    with ThreadPoolExecutor(max_workers=max(1, min(IMAGE_THREADS, len(wanted)))) as pool:
        drawn = pool.map(lambda i: (i, page_images(docs[i], wanted[i], options.vlm_max_pixels)), wanted)
        for i, got in drawn:
            for n, img in got.items():
                images[(i, n)] = img

    prompts = [Prompt(text=q.text, fields=q.fields, image=images.get((q.doc_index, q.page.number)))
               for q in queries]
    parsed = _generate_parsed(generator, prompts) if prompts else []

    answers: list[dict[str, object]] = [{f.name: None for f in fields} for fields in asks]
    warnings: list[list[str]] = [[] for _ in docs]
    ctxs = [_context(d) for d in docs]
    for q, p, (answer, reply) in zip(queries, prompts, parsed):
        i = q.doc_index
        if q.truncated:
            warnings[i].append(f"{source}: page {q.page.number} layout text cut to the token budget")
        if p.image is None and options.vlm_max_pixels > 0:
            warnings[i].append(f"{source}: page {q.page.number} read without its image")
        if answer is None:
            warnings[i].append(f"{source}: page {q.page.number}: unparseable reply for {len(q.fields)} field(s)")
            continue
        base = baselines[i]
        for spec in q.fields:
            rules_value = base.fields.get(spec.name) if base is not None else None
            got = _field_result(spec, answer.get(spec.name), reply, docs[i], q.page.number, ctxs[i],
                                rules_value, source)
            if got is not None and answers[i].get(spec.name) is None:
                answers[i][spec.name] = got
                flagged = [got] if isinstance(got, FieldValue) else got
                if any("ungrounded" in (fv.evidence or "") for fv in flagged):
                    warnings[i].append(f"{source}: field {spec.name} not found on the page (low confidence)")
    return answers, warnings


# --------------------------------------------------------------------------- readers


def rules_baseline(doc: Document, schema: Schema | None) -> Extraction | None:
    """The rules reader's extraction (agreement, page hints, key-values); None if unavailable."""
    from docproc.readers import get_reader

    try:
        return get_reader(ReaderOptions(kind="rules")).read(doc, schema)
    except ImportError:  # pragma: no cover - the rules reader ships with docproc
        return None


def _better(a, b):
    """The more confident of two field results (None loses)."""
    def conf(v):
        if v is None:
            return -1.0
        if isinstance(v, list):
            return max((x.confidence for x in v), default=-1.0)
        return v.confidence
    return a if conf(a) >= conf(b) else b


def merge(base: Extraction | None, answers: dict[str, object], warnings: list[str],
          schema: Schema) -> Extraction:
    """The rules extraction with each asked field replaced by the more confident answer."""
    out = base.model_copy(deep=True) if base is not None else Extraction()
    for spec in schema.fields:
        if spec.name in answers:
            out.fields[spec.name] = _better(answers[spec.name], out.fields.get(spec.name))
        else:
            out.fields.setdefault(spec.name, None)
    out.warnings.extend(warnings)
    try:
        from docproc.checks import apply_checks

        out.checks = []
        out = apply_checks(out, schema)
    except ImportError:  # pragma: no cover
        pass
    return out


class VlmReader:
    """`--reader vlm`: every schema field is asked of a local VLM (rules run alongside for
    agreement, page hints, key-values and line items)."""

    name = "vlm"

    def __init__(self, options: ReaderOptions, generator: Generator | None = None):
        self.options = options
        self._generator = generator

    @property
    def generator(self) -> Generator:
        if self._generator is None:
            if not self.options.vlm_model:
                raise DocprocError("reader", "vlm_model_missing", "reader vlm needs a model directory (--vlm-model)")
            self._generator = load_local_vlm(self.options.vlm_model, self.options.vlm_device,
                                             self.options.vlm_max_new_tokens, self.options.vlm_batch_size,
                                             self.options.vlm_constrained, self.options.vlm_static_cache)
        return self._generator

    def fields_to_ask(self, schema: Schema, base: Extraction | None) -> list[FieldSpec]:
        return list(schema.fields)

    def read(self, doc: Document, schema: Schema | None) -> Extraction:
        return self.read_many([doc], schema)[0]

    def read_many(self, docs: list[Document], schema: Schema | None) -> list[Extraction]:
        """Several documents at once, so that their pages share `generate` batches."""
        bases = [rules_baseline(d, schema) for d in docs]
        if schema is None:
            return [b if b is not None else Extraction() for b in bases]
        asks = [self.fields_to_ask(schema, b) for b in bases]
        if not any(asks):
            return [merge(b, {}, [], schema) for b in bases]
        answers, warnings = answer_fields(docs, asks, self.generator, self.options, bases, source=self.name)
        return [merge(b, a, w, schema) for b, a, w in zip(bases, answers, warnings)]


# --------------------------------------------------------------------------- local model


def _pick_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


class _Inputs:
    """Chat prompts + images -> model inputs. Uses the model's AutoProcessor; where that cannot be
    built (Qwen2-VL's processor insists on a torchvision video processor) the same inputs come from
    its image processor and tokenizer, expanding each image placeholder to its patch count."""

    def __init__(self, model_dir: str, device: str = "cpu", pad_to: int | None = None):
        from transformers import AutoImageProcessor, AutoProcessor, AutoTokenizer

        self.pad_to = pad_to  # prompt lengths rounded up to a multiple of this (static cache)

        # Where images are resized and normalised: a torchvision-backed image processor does it on
        # the model's device instead of the host; other backends ignore it.
        self.device = device
        self.processor = None
        try:
            self.processor = AutoProcessor.from_pretrained(model_dir, local_files_only=True)
            self.tokenizer = self.processor.tokenizer
            self.image_processor = self.processor.image_processor
        except Exception as exc:  # noqa: BLE001 - any failure here has the fallback below
            log.info("vlm: AutoProcessor unavailable (%s); using image processor + tokenizer", type(exc).__name__)
            self.tokenizer = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
            self.image_processor = AutoImageProcessor.from_pretrained(model_dir, local_files_only=True)
        self.tokenizer.padding_side = "left"
        self.image_token = getattr(self.tokenizer, "image_token", None) or "<|image_pad|>"
        self.image_token_id = self.tokenizer.convert_tokens_to_ids(self.image_token)

    def chat_text(self, p: Prompt) -> str:
        content = ([{"type": "image"}] if p.image is not None else []) + [{"type": "text", "text": p.text}]
        messages = [{"role": "system", "content": [{"type": "text", "text": prompt.SYSTEM_TEXT}]},
                    {"role": "user", "content": content}]
        messages += [{"role": role, "content": [{"type": "text", "text": t}]} for role, t in p.history]
        tmpl = self.processor if self.processor is not None else self.tokenizer
        return tmpl.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)

    def __call__(self, prompts: list[Prompt]):
        texts = [self.chat_text(p) for p in prompts]
        images = [p.image for p in prompts if p.image is not None]
        if self.processor is not None:
            return self.processor(text=texts, images=images or None, padding=True, return_tensors="pt",
                                  pad_to_multiple_of=self.pad_to, device=self.device)
        extra = {}
        if images:
            extra = dict(self.image_processor(images=images, return_tensors="pt", device=self.device))
            merge_len = self.image_processor.merge_size ** 2
            counts = iter(int(g.prod()) // merge_len for g in extra["image_grid_thw"])
            texts = [t.replace(self.image_token, "\0") for t in texts]
            texts = ["".join(part if k == 0 else self.image_token * next(counts) + part
                             for k, part in enumerate(t.split("\0"))) for t in texts]
        enc = self.tokenizer(texts, padding=True, pad_to_multiple_of=self.pad_to, return_tensors="pt")
        enc = dict(enc, **extra)
        enc["mm_token_type_ids"] = (enc["input_ids"] == self.image_token_id).int()
        return enc


class _TokenProbs:
    """Logits processor (last in the chain) that records each step's chosen-token log-probability
    under greedy decoding (the max of the processed distribution): B floats per step, on device."""

    def __init__(self):
        self.steps = []
        self.first_at = self.last_at = 0.0  # host clock at the first and last decode step (benchmarks)

    def __call__(self, input_ids, scores):
        self.last_at = time.perf_counter()
        if not self.steps:
            self.first_at = self.last_at
        self.steps.append(scores.float().log_softmax(-1).max(-1).values)
        return scores


class _GrammarMasks:
    """Logits processor for constrained decoding of a batch (xgrammar): per step one host sync
    for the last tokens of every row, and the rows' token masks filled in xgrammar's own threads.
    (xgrammar's transformers processor syncs once per row and fills row by row: host time that
    every decode step of a large batch pays.)"""

    def __init__(self, grammars: list, vocab_size: int, filler):
        import xgrammar as xgr

        self._xgr = xgr
        self.matchers = [xgr.GrammarMatcher(g) for g in grammars]
        self.bitmask = xgr.allocate_token_bitmask(len(grammars), vocab_size)
        self.filler = filler  # an xgrammar.BatchGrammarMatcher, one per model
        self.started = False

    def __call__(self, input_ids, scores):
        if self.started:
            for matcher, token in zip(self.matchers, input_ids[:, -1].tolist()):
                if not matcher.is_terminated() and not matcher.accept_token(token):
                    raise RuntimeError("vlm: a generated token broke the reply grammar")
        self.started = True
        live = [i for i, m in enumerate(self.matchers) if not m.is_terminated()]
        if live:
            self.filler.batch_fill_next_token_bitmask([self.matchers[i] for i in live], self.bitmask, live)
        self._xgr.apply_token_bitmask_inplace(scores, self.bitmask.to(scores.device))
        return scores


class LocalVlm:
    """A transformers image-text-to-text model from a local directory; one per process."""

    def __init__(self, model_dir: str, device: str = "auto", max_new_tokens: int = 256,
                 batch_size: int = 8, constrained: bool = True, static_cache: bool = False):
        import torch
        from transformers import AutoModelForImageTextToText

        if not os.path.isdir(model_dir):
            raise DocprocError("reader", "vlm_model_missing", f"model directory not found: {model_dir}")
        self.device = _pick_device(device)
        self.dtype = torch.bfloat16 if self.device.startswith("cuda") else torch.float32
        # Page images are drawn by sandboxed children: from here on they fork from a small helper
        # process, not from this one. Forked from a process holding a model on a GPU, a page image
        # took ~170 ms, and with several children at once some failed (bench/gpu_check.sh, H200).
        sandbox.start_fork_server()
        # A static cache is sized to prompt + budget (transformers keeps the largest size so far);
        # torch.compile recompiles the decode step for every new size (seen on the H200), so with
        # one, prompt lengths fall on STATIC_PAD steps and the sizes settle after a few batches.
        self.inputs = _Inputs(model_dir, self.device, STATIC_PAD if static_cache else None)
        self.model = AutoModelForImageTextToText.from_pretrained(
            model_dir, local_files_only=True, dtype=self.dtype).to(self.device).eval()
        self.max_new_tokens = max_new_tokens
        self.batch_size = max(1, batch_size)
        self.static_cache = static_cache
        self.eos_id = self.inputs.tokenizer.convert_tokens_to_ids("<|im_end|>")
        if self.eos_id is None or self.eos_id == self.inputs.tokenizer.unk_token_id:
            self.eos_id = self.inputs.tokenizer.eos_token_id
        self.pad_id = self.inputs.tokenizer.pad_token_id or self.eos_id
        self._compiler = self._grammar_compiler() if constrained else None
        self.generated_tokens = 0  # running count, for benchmarks
        # Running seconds and counts, for benchmarks: input building (processor, on the host), the
        # model's generate call, and its decode steps after the first (the step clock is exact only
        # where a per-step host sync exists, as with the grammar processor).
        self.stats = dict(prepare_s=0.0, generate_s=0.0, decode_s=0.0, decode_steps=0, prompt_tokens=0, prompts=0)

    def _grammar_compiler(self):
        try:
            import xgrammar as xgr
        except ImportError:
            log.info("vlm: xgrammar not installed; strict parsing with repair only")
            return None
        vocab = self.model.get_output_embeddings().weight.shape[0]
        info = xgr.TokenizerInfo.from_huggingface(self.inputs.tokenizer, vocab_size=vocab,
                                                  stop_token_ids=[self.eos_id])
        self._filler = xgr.BatchGrammarMatcher()
        return xgr.GrammarCompiler(info)

    @lru_cache(maxsize=256)
    def _grammar(self, schema_json: str):
        return self._compiler.compile_json_schema(schema_json, any_whitespace=False, separators=(",", ":"))

    def _budget(self, prompts: list[Prompt]) -> int:
        # Compact JSON: about 8 tokens of key and quotes plus up to 40 of value per field.
        need = max(len(p.fields) for p in prompts) * 48 + 8
        return min(self.max_new_tokens, need)

    def generate(self, prompts: list[Prompt]) -> list[Reply]:
        out: list[Reply | None] = [None] * len(prompts)
        # Similar lengths share a batch: less padding.
        order = sorted(range(len(prompts)), key=lambda i: len(prompts[i].text))
        for start in range(0, len(order), self.batch_size):
            idx = order[start:start + self.batch_size]
            for i, r in zip(idx, self._generate_batch([prompts[i] for i in idx])):
                out[i] = r
        return out  # type: ignore[return-value]

    def _generate_batch(self, prompts: list[Prompt]) -> list[Reply]:
        import torch

        t0 = time.perf_counter()
        asked = len(prompts)
        if self.static_cache:
            # The static cache is sized per batch size: every new size is another compile of the
            # decode step. Batches are padded (repeats of the last prompt) to a power of two.
            prompts = prompts + [prompts[-1]] * (static_rows(asked, self.batch_size) - asked)
        enc = self.inputs(prompts)
        enc = {k: v.to(self.device) for k, v in enc.items()}
        self.stats["prompt_tokens"] += int(enc["attention_mask"][:asked].sum()) if "attention_mask" in enc else 0
        self.stats["prompts"] += asked
        if "pixel_values" in enc:
            enc["pixel_values"] = enc["pixel_values"].to(self.dtype)
        probs = _TokenProbs()
        processors = []
        if self._compiler is not None:
            grammars = [self._grammar(json.dumps(parsing.answer_schema(p.fields)))
                        for p in prompts]
            processors.append(_GrammarMasks(grammars, grammars[0].tokenizer_info.vocab_size, self._filler))
        processors.append(probs)
        kwargs = dict(max_new_tokens=self._budget(prompts), do_sample=False, eos_token_id=self.eos_id,
                      pad_token_id=self.pad_id, logits_processor=processors)
        if self.static_cache:
            kwargs["cache_implementation"] = "static"
        t1 = time.perf_counter()
        with torch.inference_mode():
            seqs = self.model.generate(**enc, **kwargs)
        new = seqs[:, enc["input_ids"].shape[1]:].cpu()
        self.stats["prepare_s"] += t1 - t0
        self.stats["generate_s"] += time.perf_counter() - t1
        if len(probs.steps) > 1:
            self.stats["decode_s"] += probs.last_at - probs.first_at
            self.stats["decode_steps"] += len(probs.steps) - 1
        lp = torch.stack(probs.steps, dim=1).cpu() if probs.steps else None  # (B, steps)
        replies = []
        for row in range(asked):  # padding rows' replies are dropped
            ids = new[row].tolist()
            n = next((k for k, t in enumerate(ids) if t in (self.eos_id, self.pad_id)), len(ids))
            mean_lp = float(lp[row, :max(1, n)].mean()) if lp is not None and n else 0.0
            text = self.inputs.tokenizer.decode(ids[:n], skip_special_tokens=True)
            replies.append(Reply(text=text, token_prob=round(math.exp(mean_lp), 4), tokens=n))
            self.generated_tokens += n
        return replies


def static_rows(n: int, batch_size: int) -> int:
    """Rows of a static-cache batch of `n` prompts: the next power of two, at most `batch_size`
    (and never fewer than `n`)."""
    return max(n, min(batch_size, 1 << (n - 1).bit_length()))


@lru_cache(maxsize=2)
def load_local_vlm(model_dir: str, device: str = "auto", max_new_tokens: int = 256, batch_size: int = 8,
                   constrained: bool = True, static_cache: bool = False) -> LocalVlm:
    """The process's one copy of a local model (readers and benchmarks share it)."""
    return LocalVlm(model_dir, device, max_new_tokens, batch_size, constrained, static_cache)

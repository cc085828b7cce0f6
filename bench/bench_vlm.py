"""VLM reader throughput: a randomly initialised Qwen2-VL-2B-shaped model (config values written
in tests/readers/tiny_vlm.py, no download) reads a fixed set of generated pages through
`VlmReader.read_many`, batched. Prints pages/s, generated tokens/s, batch size, peak GPU memory
and GPU utilisation.

    python bench/bench_vlm.py                       # GPU, 2B-class model, 256 pages, batch 64
    python bench/bench_vlm.py --static-cache        # static KV cache (transformers compiles decode)
    python bench/bench_vlm.py --tiny --pages 8 --batch-size 4   # CPU smoke run

Throughput design (issue 6): the model is asked only for the uncertain fields (--fields, as hybrid
routing does), answers are compact JSON under an xgrammar grammar that caps value length, pages
of many documents share one `generate` call, and --static-cache removes per-step cache growth.
Replies (--reply): `model` lets the random weights write; they write garbage inside the grammar,
each reply runs to its token budget and fails parsing, so every page also costs a repair round:
an upper bound on the work per page. `scripted` (the default) forces each step's token to that of
a short compact-JSON answer (the length a real model writes for --fields values) through a logits
processor, so the model does the same forward passes per token as a real one while the reply has
a real reply's length and parses: the throughput a real 2B model would see.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

FIELD_POOL = [
    ("total", "money", "the total amount payable, tax included", ["total", "amount due"]),
    ("invoice_date", "date", "the date the invoice was issued", ["date", "invoice date"]),
    ("invoice_number", "id", "the invoice number", ["invoice no", "invoice number"]),
    ("vendor_name", "string", "the name of the seller", ["from", "seller"]),
    ("customer_name", "string", "the name of the customer billed", ["bill to"]),
    ("due_date", "date", "the date payment is due", ["due date"]),
    ("tax", "money", "the tax amount", ["vat", "tax"]),
    ("currency", "string", "the currency code", ["currency"]),
]


def _tiny_vlm_module():
    spec = importlib.util.spec_from_file_location("tiny_vlm", ROOT / "tests" / "readers" / "tiny_vlm.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def make_pages(out: Path, n: int, size: tuple[int, int]):
    """`n` one-page PNG invoices with their words (as a text layer would give them)."""
    from faker import Faker
    from PIL import Image, ImageDraw

    from docproc.document import Document, Line, Page, SourceInfo, Word

    fake = Faker()
    Faker.seed(7)
    docs = []
    for i in range(n):
        rows = [fake.company(), f"Invoice No: INV-{1000 + i}", f"Date: {fake.date()}",
                f"Bill to: {fake.name()}", *[fake.sentence(nb_words=6) for _ in range(12)],
                f"Tax: EUR {i % 50}.{i % 97:02d}", f"Total due: EUR {100 + i}.{i % 97:02d}"]
        img = Image.new("RGB", size, "white")
        draw = ImageDraw.Draw(img)
        words, lines = [], []
        for r, text in enumerate(rows):
            y = 40 + r * (size[1] - 80) // len(rows)
            draw.text((50, y), text, fill="black", font_size=22)
            x = 50
            idx = []
            for token in text.split():
                w = 12 * len(token)
                idx.append(len(words))
                words.append(Word(text=token, bbox=(x / size[0], y / size[1], (x + w) / size[0], (y + 24) / size[1])))
                x += w + 10
            lines.append(Line(text=text, bbox=(50 / size[0], y / size[1], x / size[0], (y + 24) / size[1]), words=idx))
        path = out / f"page_{i:04d}.png"
        img.save(path)
        data = path.read_bytes()
        src = SourceInfo(path=str(path), kind="png", mime="image/png", sha256=hashlib.sha256(data).hexdigest(),
                         size=len(data), page_count=1)
        docs.append(Document(source=src, pages=[Page(number=1, width=size[0], height=size[1], text_source="ocr",
                                                     words=words, lines=lines)]))
    return docs


SCRIPTED_VALUES = {"total": "EUR 112.34", "invoice_date": "2019-04-12", "invoice_number": "INV-1012",
                   "vendor_name": "Miller Group", "customer_name": "Jane Doe", "due_date": "2019-05-12",
                   "tax": "EUR 9.41", "currency": "EUR"}


def script_replies(vlm_module, gen):
    """Force every reply to a fixed compact JSON answer (see the module doc): a `_TokenProbs`
    whose steps first pin the scores to the script's next token, then record as usual."""
    import torch

    eos = gen.eos_id
    batch_ids = []  # token ids per row of the batch being generated

    real_batch = gen._generate_batch

    def scripted_batch(prompts):
        texts = [json.dumps({f.name: SCRIPTED_VALUES.get(f.name, "n/a") for f in p.fields}, separators=(",", ":"))
                 for p in prompts]
        rows = [gen.inputs.tokenizer(t, add_special_tokens=False)["input_ids"] + [eos] for t in texts]
        width = max(map(len, rows))
        batch_ids[:] = [torch.tensor([r + [eos] * (width - len(r)) for r in rows], device=gen.device)]
        return real_batch(prompts)

    class Scripted(vlm_module._TokenProbs):
        def __call__(self, input_ids, scores):
            ids = batch_ids[0]
            if ids.shape[0] < scores.shape[0]:  # a static-cache batch padded with repeats of its last row
                ids = torch.cat([ids, ids[-1:].expand(scores.shape[0] - ids.shape[0], -1)])
            step = min(len(self.steps), ids.shape[1] - 1)
            forced = torch.full_like(scores, float("-inf"))
            forced.scatter_(1, ids[:, step:step + 1], 0.0)
            return super().__call__(input_ids, forced)

    gen._generate_batch = scripted_batch
    vlm_module._TokenProbs = Scripted


class GpuSampler:
    """GPU utilisation sampled from nvidia-smi every 0.2 s while the run lasts."""

    def __init__(self):
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            try:
                out = subprocess.run(["nvidia-smi", "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits"],
                                     capture_output=True, text=True, timeout=2).stdout.split()
                self.samples.append(float(out[0]))
            except (OSError, ValueError, IndexError, subprocess.TimeoutExpired):
                return
            self._stop.wait(0.2)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=3)

    @property
    def mean(self):
        return round(sum(self.samples) / len(self.samples), 1) if self.samples else None


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tiny", action="store_true", help="tiny model on CPU (smoke test)")
    ap.add_argument("--pages", type=int, default=256)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--fields", type=int, default=3, help="uncertain fields asked per page")
    ap.add_argument("--max-new-tokens", type=int, default=96)
    ap.add_argument("--max-pixels", type=int, default=1008 * 28 * 28)
    ap.add_argument("--static-cache", action="store_true")
    ap.add_argument("--no-grammar", action="store_true", help="strict parsing only (no xgrammar)")
    ap.add_argument("--model-dir", help="reuse a saved model directory (a real one works too)")
    ap.add_argument("--reply", choices=["scripted", "model"], default="scripted",
                    help="scripted: real-length answers forced token by token; model: the random weights write")
    args = ap.parse_args(argv)

    import torch

    from docproc.options import ReaderOptions
    from docproc.readers import vlm
    from docproc.schemas import FieldSpec, Schema

    tiny = _tiny_vlm_module()
    device = "cpu" if args.tiny or not torch.cuda.is_available() else "cuda"
    work = Path(tempfile.mkdtemp(prefix="bench_vlm_"))
    try:
        t0 = time.perf_counter()
        model_dir = args.model_dir or str(tiny.save_random_qwen2vl(
            work / "model",
            text=tiny.TINY_TEXT if args.tiny else tiny.QWEN2VL_2B_TEXT,
            vision=tiny.TINY_VISION if args.tiny else tiny.QWEN2VL_2B_VISION,
            max_pixels=args.max_pixels, dtype="float32" if device == "cpu" else "bfloat16", device=device))
        build_s = time.perf_counter() - t0
        docs = make_pages(work, args.pages, (600, 800) if args.tiny else (1240, 1754))
        schema = Schema(name="bench", fields=[FieldSpec(name=n, type=t, query=q, labels=lb)
                                              for n, t, q, lb in FIELD_POOL[:args.fields]])
        options = ReaderOptions(kind="vlm", vlm_model=model_dir, vlm_device=device,
                                vlm_batch_size=args.batch_size, vlm_max_new_tokens=args.max_new_tokens,
                                vlm_max_pixels=args.max_pixels, vlm_constrained=not args.no_grammar,
                                vlm_static_cache=args.static_cache)
        reader = vlm.VlmReader(options)
        vlm.rules_baseline = lambda doc, schema: None  # measure the model path only
        gen = reader.generator
        if args.reply == "scripted":
            script_replies(vlm, gen)
        gen_time = [0.0]
        real_generate = gen.generate

        def timed_generate(prompts):
            t = time.perf_counter()
            try:
                return real_generate(prompts)
            finally:
                gen_time[0] += time.perf_counter() - t
        gen.generate = timed_generate

        print(f"[bench_vlm] model and {len(docs)} pages ready at {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        t1 = time.perf_counter()
        reader.read_many(docs[:min(len(docs), args.batch_size)], schema)  # warm-up (and compile)
        print(f"[bench_vlm] warm-up batch {time.perf_counter() - t1:.1f} s", file=sys.stderr)
        gen_time[0] = 0.0
        gen.generated_tokens = 0
        gen.stats = dict.fromkeys(gen.stats, 0)
        if device == "cuda":
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        with GpuSampler() as sampler:
            t0 = time.perf_counter()
            outs = reader.read_many(docs, schema)
            if device == "cuda":
                torch.cuda.synchronize()
            wall = time.perf_counter() - t0
        answered = sum(1 for o in outs for v in o.fields.values() if v is not None)
        result = {
            "device": torch.cuda.get_device_name(0) if device == "cuda" else "cpu",
            "model": "tiny" if args.tiny else "qwen2-vl-2b-shaped (random)",
            "pages": len(docs), "batch_size": args.batch_size, "fields_per_page": args.fields,
            "static_cache": args.static_cache, "grammar": not args.no_grammar, "reply": args.reply,
            "prompts_per_page": round(gen.stats["prompts"] / len(docs), 2),
            "pages_per_s": round(len(docs) / wall, 3),
            "generate_pages_per_s": round(len(docs) / max(gen_time[0], 1e-9), 3),
            "generated_tokens_per_s": round(gen.generated_tokens / max(gen_time[0], 1e-9), 1),
            "generated_tokens": gen.generated_tokens,
            "wall_s": round(wall, 2), "generate_s": round(gen_time[0], 2), "model_build_s": round(build_s, 1),
            "peak_gpu_mem_gb": round(torch.cuda.max_memory_allocated() / 2**30, 2) if device == "cuda" else None,
            "gpu_util_mean_pct": sampler.mean,
            "fields_answered": answered,
            # Where generate's time goes: inputs (image processing, tokenising, copy to the device),
            # the model's generate call, its mean decode step, and prefill (generate minus decode).
            "prepare_s": round(gen.stats["prepare_s"], 2),
            "model_generate_s": round(gen.stats["generate_s"], 2),
            "decode_ms_per_step": round(1000 * gen.stats["decode_s"] / max(gen.stats["decode_steps"], 1), 1),
            "prefill_s_approx": round(gen.stats["generate_s"] - gen.stats["decode_s"], 2),
            "mean_prompt_tokens": round(gen.stats["prompt_tokens"] / max(gen.stats["prompts"], 1)),
        }
        print(json.dumps(result))
        return result
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

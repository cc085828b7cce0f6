"""A tiny randomly initialised Qwen2-VL, saved to disk and loaded through the same code path as a
real model directory. Random weights answer nonsense: the tests check the machinery (loading,
batching, image inputs, constrained JSON, grounding) and schema-valid output, not the answers."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from conftest import make_doc, make_page  # noqa: E402
from PIL import Image  # noqa: E402

from docproc.options import ReaderOptions  # noqa: E402
from docproc.readers import parsing  # noqa: E402
from docproc.readers.vlm import LocalVlm, Prompt, VlmReader, load_local_vlm  # noqa: E402
from docproc.schemas import FieldSpec, Schema  # noqa: E402

FIELDS = [FieldSpec(name="total", type="money", query="the total"),
          FieldSpec(name="sex", type="enum", enum=["M", "F"], query="the sex"),
          FieldSpec(name="parties", type="list", items="string", query="the parties")]


def test_local_model_generates_schema_shaped_json_in_one_batch(tiny_vlm_dir):
    vlm = LocalVlm(str(tiny_vlm_dir), device="cpu", max_new_tokens=400, batch_size=4)
    assert vlm.device == "cpu" and str(vlm.dtype) == "torch.float32"
    img = Image.new("RGB", (300, 400), "white")
    prompts = [Prompt(text="Total 53.55", fields=FIELDS, image=img),
               Prompt(text="a longer prompt without an image", fields=FIELDS[:2]),
               Prompt(text="Sex: F", fields=FIELDS[1:2], image=img.resize((200, 100)))]
    replies = vlm.generate(prompts)
    assert len(replies) == 3 and all(0 < r.token_prob <= 1 and r.tokens > 0 for r in replies)
    # The grammar forces the answer format even from random weights: the short ones close.
    got = parsing.parse_answer(replies[2].text, FIELDS[1:2])
    assert set(got) == {"sex"} and got["sex"] in ("M", "F", None)
    for r, p in zip(replies, prompts):
        assert r.text.startswith("{") and all(f'"{f.name}"' in r.text or r.tokens >= 48 for f in p.fields[:1])


def test_model_loads_once_per_process(tiny_vlm_dir):
    a = load_local_vlm(str(tiny_vlm_dir), "cpu", 64, 2)
    b = load_local_vlm(str(tiny_vlm_dir), "cpu", 64, 2)
    assert a is b


def test_reader_answers_every_field_or_null(tiny_vlm_dir, monkeypatch):
    monkeypatch.setattr("docproc.readers.vlm.rules_baseline", lambda doc, schema: None)
    doc = make_doc([make_page(1, [(0.1, 0.1, "Total 53.55"), (0.1, 0.2, "Sex: F")])])
    schema = Schema(name="t", fields=FIELDS)
    reader = VlmReader(ReaderOptions(kind="vlm", vlm_model=str(tiny_vlm_dir), vlm_device="cpu",
                                     vlm_max_new_tokens=64))
    out = reader.read(doc, schema)
    assert set(out.fields) == {"total", "sex", "parties"}
    for v in out.fields.values():
        for fv in (v if isinstance(v, list) else [v] if v else []):
            assert 0 <= fv.confidence <= 1 and fv.source == "vlm"


def test_pipeline_end_to_end_with_reader_vlm(tiny_vlm_dir, tmp_path):
    pipeline = pytest.importorskip("docproc.pipeline", reason="pipeline stages not all in the tree")
    from docproc.options import PipelineOptions
    from docproc.schemas import validate_result

    from PIL import ImageDraw

    img = Image.new("RGB", (800, 600), "white")
    draw = ImageDraw.Draw(img)
    for y, line in enumerate(["ACME Supplies GmbH", "Invoice No: INV-0042", "Date: 12.03.2024",
                              "Total due: EUR 53.55"]):
        draw.text((60, 60 + 60 * y), line, fill="black", font_size=28)
    path = tmp_path / "invoice.png"
    img.save(path)
    opts = PipelineOptions(schema="invoice", reader=ReaderOptions(
        kind="vlm", vlm_model=str(tiny_vlm_dir), vlm_device="cpu", vlm_max_new_tokens=96,
        vlm_max_pixels=200 * 28 * 28))
    result = pipeline.run(path, opts).to_json_dict()
    assert result["status"] == "ok", result["errors"]
    assert validate_result(result) == []
    assert "total" in result["fields"] and result["timings"]["reader"] > 0


def test_static_cache_prompts_fall_on_length_steps(tiny_vlm_dir):
    """With a static KV cache every prompt length is a multiple of STATIC_PAD (left padding), so
    that the compiled decode step sees few cache sizes; without one, no padding is added."""
    from docproc.readers.vlm import STATIC_PAD

    img = Image.new("RGB", (300, 400), "white")
    prompts = [Prompt(text="Total 53.55", fields=FIELDS[:1], image=img),
               Prompt(text="Sex: F " * 40, fields=FIELDS[1:2])]
    static = LocalVlm(str(tiny_vlm_dir), device="cpu", max_new_tokens=32, static_cache=True)
    dynamic = LocalVlm(str(tiny_vlm_dir), device="cpu", max_new_tokens=32)
    padded, plain = static.inputs(prompts)["input_ids"], dynamic.inputs(prompts)["input_ids"]
    assert padded.shape[1] % STATIC_PAD == 0 and padded.shape[1] >= plain.shape[1]
    assert plain.shape[1] == int(dynamic.inputs(prompts)["attention_mask"].sum(1).max())
    replies = static.generate(prompts)
    assert all(r.text.startswith("{") and r.tokens > 0 for r in replies)
    # Three prompts run as a batch of four (the padding row's reply is dropped).
    three = static.generate(prompts + prompts[:1])
    assert len(three) == 3 and static.stats["prompts"] == 5
    assert all(r.text.startswith("{") for r in three)


def test_static_batches_are_padded_to_powers_of_two():
    from docproc.readers.vlm import static_rows

    assert [static_rows(n, 64) for n in (1, 2, 3, 5, 17, 33, 64)] == [1, 2, 4, 8, 32, 64, 64]
    assert static_rows(5, 6) == 6 and static_rows(7, 6) == 7  # capped at the batch size, never below n


def test_page_images_of_many_documents_reach_their_prompts(tmp_path):
    """Page images are drawn several documents at a time: each prompt gets its own page's image,
    scaled under the pixel budget (glue: a fake generator records the prompts)."""
    from docproc.document import SourceInfo
    from docproc.readers.vlm import Reply, answer_fields

    docs = []
    for i in range(6):
        path = tmp_path / f"page{i}.png"
        Image.new("RGB", (400 + 100 * i, 600), "white").save(path)
        doc = make_doc([make_page(1, [(0.1, 0.1, f"Total {i}.00")])])
        doc.source = SourceInfo(path=str(path), kind="png", mime="image/png", sha256=f"{i}" * 64,
                                size=path.stat().st_size, page_count=1)
        docs.append(doc)

    class Recorder:
        def __init__(self):
            self.prompts = []

        def generate(self, prompts):
            self.prompts += prompts
            return [Reply(text='{"total":null}', token_prob=1.0, tokens=4) for _ in prompts]

    gen = Recorder()
    budget = 100 * 28 * 28
    answer_fields(docs, [FIELDS[:1]] * len(docs), gen, ReaderOptions(kind="vlm", vlm_max_pixels=budget))
    assert len(gen.prompts) == 6
    for i, p in enumerate(gen.prompts):
        assert p.image is not None and p.image.width * p.image.height <= budget
        assert abs(p.image.width / p.image.height - (400 + 100 * i) / 600) < 0.02  # its own page
        assert f"Total {i}.00" in p.text


def test_batched_grammar_masks_decode_exactly_as_xgrammars_own_processor(tiny_vlm_dir, monkeypatch):
    """The reader's constrained-decoding processor (one host sync per step, masks filled in
    xgrammar's threads) changes nothing in what greedy decoding writes."""
    xgr = pytest.importorskip("xgrammar")
    from docproc.readers import vlm as vlm_module

    model = LocalVlm(str(tiny_vlm_dir), device="cpu", max_new_tokens=200, batch_size=4)
    img = Image.new("RGB", (300, 400), "white")
    prompts = [Prompt(text="Total 53.55", fields=FIELDS, image=img),
               Prompt(text="a longer prompt without an image", fields=FIELDS[:2]),
               Prompt(text="Sex: F", fields=FIELDS[1:2])]
    ours = [(r.text, r.token_prob, r.tokens) for r in model.generate(prompts)]
    monkeypatch.setattr(vlm_module, "_GrammarMasks", lambda grammars, vocab, filler: xgr.contrib.hf.LogitsProcessor(grammars))
    theirs = [(r.text, r.token_prob, r.tokens) for r in model.generate(prompts)]
    assert ours == theirs
    assert parsing.parse_answer(ours[2][0], FIELDS[1:2]).keys() == {"sex"}


def test_cli_vlm_flags_reach_the_model(tiny_vlm_dir, tmp_path, monkeypatch):
    """`docproc extract --reader vlm` with device, batch size and static cache set on the command
    line: the model is loaded with them and the document is read."""
    import json

    from typer.testing import CliRunner

    from docproc import cli
    from docproc.readers import vlm as vlm_module

    loaded = []
    real = vlm_module.load_local_vlm

    def recording(*args):
        loaded.append(args)
        return real(*args)

    monkeypatch.setattr(vlm_module, "load_local_vlm", recording)
    page = tmp_path / "in" / "note.png"
    page.parent.mkdir()
    Image.new("RGB", (400, 300), "white").save(page)
    result = CliRunner().invoke(cli.app, [
        "extract", str(page.parent), "-o", str(tmp_path / "out"), "--schema", "invoice", "--workers", "0", "-q",
        "--reader", "vlm", "--vlm-model", str(tiny_vlm_dir), "--vlm-device", "cpu",
        "--vlm-batch-size", "2", "--vlm-static-cache"])
    assert result.exit_code == 0, result.output
    out = json.loads((tmp_path / "out" / "note.json").read_text())
    assert out["status"] == "ok" and any(w.startswith("vlm:") for w in out["warnings"])  # the model was asked
    assert loaded and loaded[0][1] == "cpu" and loaded[0][3] == 2 and loaded[0][5] is True
    bad = CliRunner().invoke(cli.app, ["extract", str(page.parent), "-o", str(tmp_path / "o2"),
                                       "--vlm-batch-size", "0"])
    assert bad.exit_code == 2


def test_batch_run_reads_pages_of_several_documents_per_generate_call(tiny_vlm_dir, tmp_path, monkeypatch):
    """A folder run with a local VLM: workers run the page stages, this process reads the
    documents in groups that fill the model's batches; a broken file keeps its own error."""
    import json

    from PIL import ImageDraw

    from docproc.batch import run_batch
    from docproc.options import PipelineOptions

    inbox = tmp_path / "in"
    inbox.mkdir()
    for i in range(5):
        img = Image.new("RGB", (600, 300), "white")
        ImageDraw.Draw(img).text((40, 40 + 10 * i), f"Invoice No: INV-{100 + i}  Total due: EUR {i}3.50",
                                 fill="black", font_size=24)
        img.save(inbox / f"doc{i}.png")
    (inbox / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    sizes = []
    real = LocalVlm._generate_batch

    def recording(self, prompts):
        sizes.append(len(prompts))
        return real(self, prompts)

    monkeypatch.setattr(LocalVlm, "_generate_batch", recording)
    options = PipelineOptions(schema="invoice", reader=ReaderOptions(
        kind="vlm", vlm_model=str(tiny_vlm_dir), vlm_device="cpu", vlm_batch_size=4, vlm_max_new_tokens=48,
        vlm_max_pixels=100 * 28 * 28))
    summary = run_batch([inbox], tmp_path / "out", options, workers=2, progress=False)
    results = {p.stem: json.loads(p.read_text()) for p in (tmp_path / "out").glob("*.json")}
    assert summary.total == 6 and summary.succeeded == 5 and summary.failed == 1
    assert results["broken"]["status"] == "error"
    assert all(results[f"doc{i}"]["status"] == "ok" and results[f"doc{i}"]["timings"]["reader"] > 0
               and results[f"doc{i}"]["timings"]["ocr"] > 0 for i in range(5))
    assert sizes and max(sizes) == 4  # four documents' pages in one generate call

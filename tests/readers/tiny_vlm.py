"""Builds a randomly initialised Qwen2-VL model directory that loads like a real one.

Used by the tests (a tiny model, seconds on CPU) and by bench/bench_vlm.py (a real 2B-class
configuration on a GPU). Nothing is downloaded: the tokenizer is a byte-level BPE trained here
on a few strings, wrapped with the special tokens and chat template Qwen2-VL's processor needs.
"""

from __future__ import annotations

from pathlib import Path

SPECIAL_TOKENS = [
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>",
    "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>",
]

# Qwen2-VL's template, trimmed to what docproc sends: text and image content parts.
CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}"
    "{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}"
    "{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

_CORPUS = [
    'Invoice number INV-0042 date 2024-03-12 total EUR 53,55 {"total": "53.55", "date": null}',
    "Receipt vendor ACME Store 12 Main Street amount due 1,234.50 USD tax subtotal",
    "Answer with one JSON object. Fields: name type query. Page words x0 y0 x1 y1.",
    "0123456789 abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ .,:;-_/()[]{}\"'",
]

# Qwen2-VL-2B-Instruct's published configuration values (written here: no download).
QWEN2VL_2B_TEXT = dict(
    vocab_size=151936, hidden_size=1536, intermediate_size=8960, num_hidden_layers=28,
    num_attention_heads=12, num_key_value_heads=2, max_position_embeddings=32768,
    rms_norm_eps=1e-6, hidden_act="silu", sliding_window=32768, max_window_layers=28,
    rope_parameters={"rope_type": "default", "rope_theta": 1000000.0, "mrope_section": [16, 24, 24]},
)
QWEN2VL_2B_VISION = dict(
    depth=32, embed_dim=1280, hidden_size=1536, hidden_act="quick_gelu", mlp_ratio=4,
    num_heads=16, in_channels=3, patch_size=14, spatial_merge_size=2, temporal_patch_size=2,
)
TINY_TEXT = dict(
    hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
    num_key_value_heads=2, max_position_embeddings=4096, rms_norm_eps=1e-6, hidden_act="silu",
    rope_parameters={"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [2, 3, 3]},
)
TINY_VISION = dict(
    depth=2, embed_dim=32, hidden_size=64, hidden_act="quick_gelu", mlp_ratio=2, num_heads=2,
    in_channels=3, patch_size=14, spatial_merge_size=2, temporal_patch_size=2,
)


def build_tokenizer(vocab_size: int = 600):
    """A byte-level BPE (Qwen's kind) with Qwen2-VL's special tokens, as a transformers tokenizer."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False,
    )
    tok.train_from_iterator(_CORPUS, trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>",
        unk_token=None, chat_template=CHAT_TEMPLATE,
        extra_special_tokens={"image_token": "<|image_pad|>", "video_token": "<|video_pad|>"},
    )


def save_random_qwen2vl(
    out_dir: str | Path, text: dict | None = None, vision: dict | None = None,
    max_pixels: int = 112 * 112, dtype: str = "float32", device: str = "cpu", seed: int = 0,
) -> Path:
    """Write config, random weights, tokenizer and processor to `out_dir`; return it."""
    import torch
    from transformers import AutoModelForImageTextToText, Qwen2VLConfig
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tokenizer()
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS}
    text_cfg = dict(text or TINY_TEXT)
    text_cfg.setdefault("vocab_size", len(tokenizer))
    config = Qwen2VLConfig(
        text_config=dict(text_cfg, bos_token_id=ids["<|endoftext|>"], eos_token_id=ids["<|im_end|>"],
                         pad_token_id=ids["<|endoftext|>"]),
        vision_config=dict(vision or TINY_VISION),
        image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"],
        tie_word_embeddings=True,
    )
    torch.manual_seed(seed)
    with torch.device(device):
        model = AutoModelForImageTextToText.from_config(config, dtype=getattr(torch, dtype))
    model.generation_config.eos_token_id = ids["<|im_end|>"]
    model.generation_config.pad_token_id = ids["<|endoftext|>"]
    model.save_pretrained(out)
    # Saved part by part: Qwen2VLProcessor itself insists on a video processor (torchvision).
    # The image processor is the PIL one for the same reason; both write Qwen2-VL's file format.
    image_processor = Qwen2VLImageProcessorPil(
        size={"shortest_edge": 28 * 28, "longest_edge": max_pixels})
    image_processor.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out

"""Measure what full-level recording costs: bytes per step in memory and on disk.

    flock /tmp/trviz-heavy.lock .venv/bin/python tests/data/measure_memory.py [--tokens 4096]

Runs SmolLM2-135M-Instruct (``--tiny``: a random-init tiny Llama) in fp32 on CPU with the paper
tree ("2.2.2", 80 drafts, k=8) at record="full", then sizes the trace: deep size of the step
records in memory (every object counted once) and the size of the saved JSON. Prints the figures
quoted in docs/views.md. Not a test: it takes minutes.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import trviz

PROMPT = "Count from 1 to 3000, one number per line, with no other text."


def deep_size(obj, seen: set[int] | None = None) -> int:
    """Bytes of ``obj`` and everything it references (each object once)."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return 0
    seen.add(id(obj))
    size = sys.getsizeof(obj)
    if isinstance(obj, dict):
        size += sum(deep_size(k, seen) + deep_size(v, seen) for k, v in obj.items())
    elif isinstance(obj, (list, tuple, set, frozenset)):
        size += sum(deep_size(x, seen) for x in obj)
    elif hasattr(obj, "__dataclass_fields__"):
        size += sum(deep_size(getattr(obj, f), seen) for f in obj.__dataclass_fields__)
    return size


def tiny_model():
    """(model, tokenizer): random-init Llama, 49,152-token vocabulary, 8,192 positions."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    sys.path.insert(0, str(Path(__file__).parent.parent))
    from tiny_models import TinyTokenizer

    torch.manual_seed(0)
    vocab = 49152
    cfg = LlamaConfig(
        vocab_size=vocab,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=8192,
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=2,
    )
    return LlamaForCausalLM(cfg).eval(), TinyTokenizer(vocab)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokens", type=int, default=4096)
    ap.add_argument(
        "--save",
        type=Path,
        default=Path("runs/long-trace.json"),
        help="keep the long trace (for measuring animation limits)",
    )
    ap.add_argument(
        "--tiny",
        action="store_true",
        help="a random-init 2-layer Llama with SmolLM2's vocabulary size instead of SmolLM2: "
        "the recording cost depends on the tree and k, not on the weights, and a 4,096-token "
        "run then takes a minute (the MAT it prints means nothing)",
    )
    args = ap.parse_args()
    model, tok = tiny_model() if args.tiny else trviz.load_model(dtype="float32", device="cpu")
    t0 = time.perf_counter()
    prompt = " ".join(f"t{i}" for i in range(300, 340)) if args.tiny else PROMPT
    r = trviz.generate(model, tok, prompt, args.tokens, "paper", record="full")
    wall = time.perf_counter() - t0
    steps = r.trace.steps
    mem = deep_size(steps)
    saved = r.trace.save(args.save) if args.save else None
    with tempfile.TemporaryDirectory() as d:
        disk = r.trace.save(Path(d) / "t.json").stat().st_size
    print(
        f"paper tree, record='full': {r.stats.new_tokens} tokens in {len(steps)} steps "
        f"(MAT {r.stats.mat:.2f}, finish {r.finish_reason}, {wall:.0f} s)"
    )
    print(f"  in memory: {mem / 1e6:.1f} MB total, {mem / len(steps) / 1e3:.1f} kB per step")
    print(f"  saved JSON: {disk / 1e6:.1f} MB total, {disk / len(steps) / 1e3:.1f} kB per step")
    summary = trviz.generate(model, tok, prompt, 256, "paper", record="summary").trace.steps
    if saved:
        print(f"  trace kept at {saved}")
    print(f"  record='summary': {deep_size(summary) / len(summary):.0f} bytes per step in memory")


if __name__ == "__main__":
    main()

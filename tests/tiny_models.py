"""Tiny random-init causal LMs and an id tokenizer for logic tests.

Kept out of ``conftest.py`` on purpose: pytest also loads ``notebooks/conftest.py``, and a
plain ``from conftest import ...`` binds to whichever of the two was imported first.
"""

from __future__ import annotations

TINY_ARCHS = ("llama", "gpt2", "qwen2")


def make_tiny(arch: str, attn: str = "sdpa", vocab: int = 96, seed: int = 0):
    """A tiny random-init causal LM of the given architecture (builds in milliseconds)."""
    import torch
    from transformers import (
        GPT2Config,
        GPT2LMHeadModel,
        LlamaConfig,
        LlamaForCausalLM,
        Qwen2Config,
        Qwen2ForCausalLM,
    )

    torch.manual_seed(seed)
    common = dict(vocab_size=vocab, bos_token_id=1, eos_token_id=2, pad_token_id=2)
    if arch == "llama":
        cfg = LlamaConfig(
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=2,
            num_attention_heads=4,
            num_key_value_heads=2,
            max_position_embeddings=512,
            **common,
        )
        cls = LlamaForCausalLM
    elif arch == "qwen2":
        cfg = Qwen2Config(
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=2,
            num_attention_heads=4,
            num_key_value_heads=2,
            max_position_embeddings=512,
            use_sliding_window=False,
            **common,
        )
        cls = Qwen2ForCausalLM
    elif arch == "gpt2":
        cfg = GPT2Config(n_embd=32, n_layer=2, n_head=4, n_positions=512, **common)
        cls = GPT2LMHeadModel
    else:
        raise ValueError(arch)
    cfg._attn_implementation = attn
    model = cls(cfg).eval()
    # Sharpen the output layer so greedy decoding has structure rather than near-ties.
    with torch.no_grad():
        model.get_output_embeddings().weight.mul_(8.0)
    return model


class TinyTokenizer:
    """Minimal tokenizer over ids: words are 't<id>'; no chat template."""

    chat_template = None
    eos_token_id = 2

    def __init__(self, vocab: int = 96):
        self.vocab = vocab

    def __call__(self, text, add_special_tokens=True):
        return {"input_ids": [int(w[1:]) for w in text.split()]}

    def get_vocab(self):
        return {f"t{i}": i for i in range(self.vocab)}

    def decode(self, ids, skip_special_tokens=False):
        return " ".join(f"t{i}" for i in ids)

    def batch_decode(self, seqs):
        return [self.decode(s) for s in seqs]

"""Shared fixtures: the real SmolLM2 (session-scoped, fp32) and tiny random-init models."""

from __future__ import annotations

import os

import pytest
from tiny_models import TinyTokenizer

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def smollm():
    """(model, tokenizer) for the embedded SmolLM2-135M-Instruct in fp32 on CPU."""
    import trviz

    return trviz.load_model(dtype="float32", device="cpu")


@pytest.fixture(scope="session")
def smollm_tokenizer(smollm):
    return smollm[1]


@pytest.fixture
def tiny_tokenizer():
    return TinyTokenizer()

"""Shared fixtures: a shrunken lab (tiny world, tiny model, few steps) built once per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

TINY_EXPERIMENT = """
name: tiny
seed: 0
languages: [en, qaa, qac]
model: lab
data:
  sources:
    lab_en: {path: lab, format: lab, language: en}
arms:
  english_only: {recipe: monolingual, source: lab_en, n_examples: 40}
  pinch: {recipe: pinch, source: lab_en, n_examples: 40, share: 0.25, languages: [qaa, qac]}
train: {method: full, epochs: 1, lr: 1.0e-3, batch_size: 8, max_length: 64, logging_steps: 1}
eval: {tasks: [lab_qa], max_new_tokens: 8, batch_size: 32}
lab:
  world: {n_people: 12}
  pretrain: {vocab_size: 400, hidden_size: 32, n_layers: 2, n_heads: 2, intermediate_size: 64,
             steps: 20, batch_size: 8, seq_len: 64}
"""


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("xinstruct-cache")
    os.environ["XINSTRUCT_CACHE"] = str(path)
    return path


@pytest.fixture(scope="session")
def tiny_experiment_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("exp") / "tiny.yaml"
    path.write_text(TINY_EXPERIMENT)
    return path


@pytest.fixture(scope="session")
def tiny_experiment(tiny_experiment_file):
    from xinstruct.config import load_experiment

    return load_experiment(tiny_experiment_file)


@pytest.fixture(scope="session")
def tiny_lab_model(tiny_experiment, cache_dir) -> Path:
    """The shrunken lab's base model directory (an ordinary HF model dir)."""
    from xinstruct.lab.pretrain import build_base_model

    return build_base_model(tiny_experiment.world_config(), tiny_experiment.lab.pretrain, cache_dir)


@pytest.fixture(scope="session")
def varied_lab_model(tiny_lab_model, tmp_path_factory) -> Path:
    """The tiny lab model with seeded noise on every weight: greedy answers that differ from prompt to prompt
    (the trained tiny model answers almost everything with "...."), so equality checks between engines,
    batchings and cache hits compare something (`tests/varied_model.py`)."""
    from tests.varied_model import build_varied_model

    return build_varied_model(tiny_lab_model, tmp_path_factory.mktemp("varied") / "model")

"""The vLLM engine's wiring: chosen only where vLLM and a GPU exist, same prompts and post-processing as HF.

There is no GPU or vLLM here, so the test installs a stand-in `vllm` module whose LLM answers with
the tiny HF model's own greedy continuations: what is checked is xinstruct's side (engine choice,
token-id prompts, greedy sampling parameters, stop strings, caching, identical post-processing).
"""

from __future__ import annotations

import json
import sys

import pytest

from tests.evaluate.fake_vllm import install_fake_vllm
from tests.varied_model import assert_varied
from xinstruct.errors import ConfigError
from xinstruct.evaluate.runner import evaluate
from xinstruct.evaluate.tasks.common import TaskContext
from xinstruct.evaluate.vllm_engine import resolve_engine


def test_auto_is_hf_without_vllm_and_asking_for_vllm_says_why():
    pytest.importorskip("torch")
    if "vllm" in sys.modules or resolve_engine("auto") == "vllm":
        pytest.skip("vLLM and a GPU are present here")
    assert resolve_engine("auto") == resolve_engine("hf") == "hf"
    with pytest.raises(ConfigError, match="needs vLLM installed"):
        resolve_engine("vllm")
    with pytest.raises(ConfigError, match="engine must be one of"):
        resolve_engine("trt")


def test_vllm_engine_gives_the_hf_engines_answers(varied_lab_model, tmp_path, monkeypatch):
    """On a model whose answers vary by prompt: identical files mean each prompt got its own answer."""
    tiny_lab_model = varied_lab_model

    def run(name: str, engine: str, cache_dir=None) -> str:
        out = tmp_path / name
        out.mkdir()
        ctx = TaskContext(model_dir=tiny_lab_model)
        evaluate("arm", tiny_lab_model, ctx, ["lab_qa"], ["en", "qab"], 6, 4, out, cache_dir, engine)
        return (out / "predictions.jsonl").read_text(encoding="utf-8")

    hf = run("hf", "hf")
    assert_varied([json.loads(line)["prediction"] for line in hf.splitlines()], 20)
    calls: list = []
    install_fake_vllm(monkeypatch, tiny_lab_model, calls)
    assert resolve_engine("auto") == "vllm"
    assert run("vllm", "auto", tmp_path / "cache") == hf  # same prompts, same decoding of the same tokens
    inits = [c for c in calls if c[0] == "init"]
    assert len(inits) == 1 and inits[0][1]["model"] == str(tiny_lab_model) and not inits[0][1]["trust_remote_code"]
    generates = [c for c in calls if c[0] == "generate"]
    assert len(generates) == 2 and all(len(c[1]) == 20 and "prompt_token_ids" in c[1][0] for c in generates)
    assert generates[0][2] == {"temperature": 0.0, "max_tokens": 6, "stop": None}  # greedy
    calls.clear()  # a rerun answers from the request cache: vLLM is not even started
    assert run("again", "vllm", tmp_path / "cache") == hf
    assert calls == []

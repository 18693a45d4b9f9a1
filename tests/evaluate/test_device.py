"""Device and precision of evaluated and judge models: `auto` resolution, errors, cache keys, a bf16 run on CPU.

Why: there is no GPU here, so what `auto` picks on CUDA (bf16, or fp16 on GPUs without bf16) and MPS is
checked by faking what torch reports; the loader path of a non-fp32 dtype is checked for real with bf16 on
the CPU (the tiny model loads in bf16, evaluates, writes its results, and its log-softmax runs in fp32).
The request cache must keep runs of different dtypes or device kinds apart and reuse a run's own answers.
"""

from __future__ import annotations

import json

import pytest
import torch

from xinstruct.config import EvalConfig, JudgeConfig
from xinstruct.errors import ConfigError
from xinstruct.evaluate import device as dev
from xinstruct.evaluate import loglik, runner
from xinstruct.evaluate.cache import FILENAME, RequestCache
from xinstruct.evaluate.device import Placement, resolve_placement
from xinstruct.evaluate.judge.backends import HFJudge
from xinstruct.evaluate.tasks.common import TaskContext


@pytest.fixture
def machine(monkeypatch):
    """Fake what torch reports: `machine(cuda=..., bf16=..., mps=..., mps_bf16=...)`; no launcher variables."""
    for name in ("WORLD_SIZE", "RANK", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)

    def fake(cuda: bool = False, bf16: bool = True, mps: bool = False, mps_bf16: bool = True) -> None:
        monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
        monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *args, **kwargs: bf16)
        monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)
        monkeypatch.setattr(dev, "_mps_bf16", lambda: mps_bf16)

    return fake


def test_auto_picks_the_gpu_and_its_best_half_precision(machine):
    machine()
    assert resolve_placement() == Placement("cpu", "fp32")
    machine(cuda=True, bf16=True)
    assert resolve_placement() == Placement("cuda", "bf16")
    machine(cuda=True, bf16=False)  # a V100 or T4
    assert resolve_placement() == Placement("cuda", "fp16")
    machine(mps=True, mps_bf16=True)
    assert resolve_placement() == Placement("mps", "bf16")
    machine(mps=True, mps_bf16=False)  # macOS before 14
    assert resolve_placement() == Placement("mps", "fp16")
    machine(cuda=True, mps=True)
    assert resolve_placement().device == "cuda"  # CUDA first
    machine(cuda=True)
    assert resolve_placement(lab=True) == Placement("cuda", "fp32")  # the lab stays fp32
    assert resolve_placement("cpu") == Placement("cpu", "fp32")
    assert resolve_placement("cpu", "bf16") == Placement("cpu", "bf16")  # asked for: allowed on the CPU
    assert resolve_placement("cuda", "fp32", "auto") == Placement("cuda", "fp32", "auto")


def test_each_rank_takes_its_own_gpu(machine, monkeypatch):
    machine(cuda=True)
    monkeypatch.setenv("WORLD_SIZE", "8")
    monkeypatch.setenv("LOCAL_RANK", "3")
    placement = resolve_placement()
    assert placement.device == "cuda:3" and placement.kind == "cuda"
    assert placement.load_kwargs() == {"dtype": torch.bfloat16, "device_map": "cuda:3"}  # straight onto its GPU
    with pytest.raises(ConfigError, match=r"eval\.device_map auto .* one process"):
        resolve_placement(device_map="auto")


def test_what_the_machine_lacks_is_an_error_naming_the_field(machine):
    machine()
    with pytest.raises(ConfigError, match=r"^eval\.device cuda: no CUDA device"):
        resolve_placement("cuda")
    with pytest.raises(ConfigError, match=r"^judge\.device mps: no MPS device"):
        resolve_placement("mps", where="judge")
    with pytest.raises(ConfigError, match=r"^--device-map auto spreads a model over GPUs; the device is cpu"):
        resolve_placement(device_map="auto", where="--")
    with pytest.raises(ConfigError, match=r"^--dtype: expected one of"):
        resolve_placement(dtype="fp8", where="--")
    with pytest.raises(ConfigError, match=r"^--device: expected one of"):
        resolve_placement("tpu", where="--")
    machine(cuda=True, bf16=False)
    with pytest.raises(ConfigError, match=r"^eval\.dtype bf16: this cuda device has no bf16 support"):
        resolve_placement("cuda", "bf16")
    assert resolve_placement("cuda", "fp16").dtype == "fp16"


def test_config_fields_are_validated():
    assert EvalConfig().device == "auto" and EvalConfig().dtype == "auto" and EvalConfig().device_map is None
    assert EvalConfig(device="cuda", dtype="bf16", device_map="auto").device_map == "auto"
    for bad in ({"device": "tpu"}, {"dtype": "fp8"}, {"device_map": "balanced"}):
        with pytest.raises(ValueError):
            EvalConfig(**bad)
    with pytest.raises(ValueError, match="eval.device_map auto spreads a model over GPUs; eval.device is cpu"):
        EvalConfig(device="cpu", device_map="auto")
    assert JudgeConfig(model="m", device="cuda", dtype="fp16").dtype == "fp16"
    with pytest.raises(ValueError, match="judge.device_map auto"):
        JudgeConfig(model="m", device="mps", device_map="auto")


def test_cache_tags_keep_dtypes_and_device_kinds_apart():
    assert Placement("cpu", "fp32").cache_tag() == "torch.float32"  # what every earlier cache holds
    assert Placement("cpu", "bf16").cache_tag() == "torch.bfloat16"
    assert Placement("cuda", "fp32").cache_tag() == "torch.float32:cuda"
    assert Placement("cuda:5", "bf16").cache_tag() == Placement("cuda", "bf16", "auto").cache_tag()
    assert Placement("mps", "fp16").cache_tag() == "torch.float16:mps"
    assert Placement("cpu", "fp32").load_kwargs() == {"dtype": torch.float32}  # the CPU path as before


def test_judge_identity_keeps_cpu_fp32_keys_and_tags_the_rest(tiny_lab_model, tmp_path):
    with RequestCache(tmp_path / FILENAME) as cache:
        plain = HFJudge(tiny_lab_model, 8, 4, Placement("cpu", "fp32")).identity(cache)
        assert plain == f"judge:hf:{cache.fingerprint(tiny_lab_model)}"
        gpu = HFJudge(tiny_lab_model, 8, 4, Placement("cuda", "bf16"))
        assert gpu.identity(cache) == plain + ":torch.bfloat16:cuda"


def test_a_lora_adapter_without_safetensors_is_refused(tiny_lab_model, tmp_path):
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": str(tiny_lab_model)}))
    (adapter / "adapter_model.bin").write_bytes(b"pickle")
    for name in ("tokenizer.json", "tokenizer_config.json"):
        (adapter / name).write_bytes((tiny_lab_model / name).read_bytes())
    with pytest.raises(ConfigError, match="no adapter_model.safetensors"):
        runner.load_model(adapter, placement=Placement("cpu", "fp32"))


def test_bf16_on_cpu_loads_evaluates_and_keeps_its_own_cache_entries(varied_lab_model, tmp_path, monkeypatch):
    """bf16 end to end on the CPU: the loader's dtype, fp32 log-softmax, results written, and the request cache
    answering a bf16 run only from bf16 answers (and an fp32 run only from fp32 ones)."""
    loads: list[torch.dtype] = []
    load = runner.load_model

    def spy_load(model_dir, trust_remote_code=False, placement=None):
        model, tokenizer = load(model_dir, trust_remote_code, placement)
        loads.append(next(model.parameters()).dtype)
        return model, tokenizer

    softmax_inputs: list[torch.dtype] = []
    log_softmax = torch.log_softmax

    def spy_log_softmax(x, *args, **kwargs):
        softmax_inputs.append(x.dtype)
        return log_softmax(x, *args, **kwargs)

    monkeypatch.setattr(runner, "load_model", spy_load)
    monkeypatch.setattr(torch, "log_softmax", spy_log_softmax)

    def run(name: str, placement: Placement) -> list[dict]:
        out = tmp_path / name
        out.mkdir()
        ctx = TaskContext(model_dir=varied_lab_model)
        rows = runner.evaluate("arm", varied_lab_model, ctx, ["lab_qa"], ["en"], 6, 8, out, tmp_path / "cache",
                               "hf", placement)  # fmt: skip
        assert (out / "metrics.csv").exists() and (out / "predictions.jsonl").stat().st_size > 0
        return rows

    bf16 = run("bf16", Placement("cpu", "bf16"))
    assert loads == [torch.bfloat16] and bf16[0]["n"] > 0 and bf16[0]["metric"] == "accuracy"
    run("fp32", Placement("cpu", "fp32"))
    assert loads == [torch.bfloat16, torch.float32]  # the bf16 answers were not reused for fp32
    run("bf16_again", Placement("cpu", "bf16"))
    run("fp32_again", Placement("cpu", "fp32"))
    assert len(loads) == 2  # each rerun answered from its own entries: no model loaded
    with RequestCache(tmp_path / "cache" / FILENAME) as cache:
        keys = {runner.cache_model_key(cache, varied_lab_model, p) for p in (Placement("cpu", "bf16"), None)}
        assert len(keys) == 2 and runner.cache_model_key(cache, varied_lab_model).endswith(":torch.float32")

    model, tokenizer = load(varied_lab_model, placement=Placement("cpu", "bf16"))
    assert model.dtype == torch.bfloat16
    requests = [("the city of bob is", " rome."), ("the pet of", " a dog"), ("the pet of", " a cat"), ("", "hello")]
    softmax_inputs.clear()
    half = loglik.loglikelihoods(model, tokenizer, requests, batch_size=2)
    assert softmax_inputs and set(softmax_inputs) == {torch.float32}  # upcast before the log-softmax
    full = loglik.loglikelihoods(load(varied_lab_model, placement=Placement("cpu", "fp32"))[0], tokenizer, requests)
    assert all(isinstance(ll, float) for ll, _ in half)
    # bf16 weights and activations: ~3 significant digits per logit; summed over a few tokens
    assert [ll for ll, _ in half] == pytest.approx([ll for ll, _ in full], abs=0.5)

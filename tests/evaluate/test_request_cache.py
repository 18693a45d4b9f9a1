"""The evaluation request cache: a rerun sends nothing to the model, what invalidates it, resume after SIGKILL."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import SHARED_DATA
from tests.killing import run_until_paused, sigkill
from tests.stubs import cached_requests
from tests.varied_model import assert_varied
from xinstruct.evaluate import generate as gen
from xinstruct.evaluate import loglik, runner
from xinstruct.evaluate.cache import FILENAME, RequestCache
from xinstruct.evaluate.generate import generate
from xinstruct.evaluate.loglik import loglikelihoods
from xinstruct.evaluate.tasks import TASKS
from xinstruct.evaluate.tasks.common import TaskContext

needs_shared = pytest.mark.skipif(not SHARED_DATA.exists(), reason=f"shared data not found at {SHARED_DATA}")
REQUESTS = [
    ("the city of bob is", " rome."),
    ("the city of bob is ", "rome."),
    ("a much longer context about the job of mitur and the pet of", " a dog"),
    ("", "hello there"),
    ("the pet of", " a cat"),
]


def count_requests(model, monkeypatch) -> dict[str, int]:
    """Wrap the model so that `sent` counts the prompts it is asked about: forward passes outside generation
    (log-likelihoods), and generation batches."""
    sent = {"forward": 0, "generate": 0}
    forward, generate_batch = model.forward, gen._generate_batch
    inside_generate = []

    def counted_forward(*args, **kwargs):
        if not inside_generate:
            sent["forward"] += kwargs["input_ids"].shape[0]
        return forward(*args, **kwargs)

    def counted_generate_batch(generating_model, prompts, *args):
        if generating_model is model:
            sent["generate"] += len(prompts)
        inside_generate.append(True)
        try:
            return generate_batch(generating_model, prompts, *args)
        finally:
            inside_generate.pop()

    score_trees = loglik._score_trees

    def counted_trees(scored_model, pairs, groups, pad):  # shared-context rows hold several requests each
        if scored_model is model:
            sent["forward"] += sum(len(group) for group in groups)
        return score_trees(scored_model, pairs, groups, pad)

    monkeypatch.setattr(loglik, "_score_trees", counted_trees)
    monkeypatch.setattr(model, "forward", counted_forward)
    monkeypatch.setattr(gen, "_generate_batch", counted_generate_batch)
    return sent


@pytest.fixture
def counting_loader(monkeypatch):
    """runner.load_model, with every model it loads counting what it is sent; returns the counters of each load."""
    loads: list[dict[str, int]] = []
    load = runner.load_model

    def counted_load(model_dir, trust_remote_code=False, placement=None):  # the runner passes its device and dtype
        model, tokenizer = load(model_dir, trust_remote_code, placement)
        loads.append(count_requests(model, monkeypatch))
        return model, tokenizer

    monkeypatch.setattr(runner, "load_model", counted_load)
    return loads


@pytest.fixture(scope="module")
def tiny(varied_lab_model):
    """A model whose answers vary by prompt: a cache mixing up requests could not return `plain` by chance."""
    return runner.load_model(varied_lab_model)


def lab_prompts(model_dir: Path, n: int = 9) -> list[list[dict]]:
    return [row["messages"] for row in TASKS["lab_qa"].load(TaskContext(model_dir=model_dir), "qab")[:n]]


def test_loglikelihoods_come_back_identical_and_only_misses_are_scored(tiny, tmp_path, monkeypatch):
    model, tokenizer = tiny
    sent = count_requests(model, monkeypatch)
    plain = loglikelihoods(model, tokenizer, REQUESTS, batch_size=2)
    examples = [f"en/{i}" for i in range(len(REQUESTS))]
    with RequestCache(tmp_path / FILENAME) as cache:
        scope = cache.scope("m", "t@1")
        assert loglikelihoods(model, tokenizer, REQUESTS, 2, cache=scope, examples=examples) == plain
        sent["forward"] = 0
        assert loglikelihoods(model, tokenizer, REQUESTS, 3, cache=scope, examples=examples) == plain
        assert sent["forward"] == 0 and cache.count() == len(REQUESTS)

        scope = cache.scope("m", "t@2")
        partial = loglikelihoods(model, tokenizer, REQUESTS[::2], 2, cache=scope, examples=examples[::2])
        sent["forward"] = 0
        full = loglikelihoods(model, tokenizer, REQUESTS, 2, cache=scope, examples=examples)
        assert sent["forward"] == len(REQUESTS) - len(partial)  # only the misses went to the model
        assert full[::2] == partial  # cached values come back bit for bit
        # float32 log-likelihoods move in the 7th digit with the padding width (other batch mates), cached or not
        assert [ll for ll, _ in full] == pytest.approx([ll for ll, _ in plain], rel=1e-5)
        assert [greedy for _, greedy in full] == [greedy for _, greedy in plain]


def test_generations_come_back_identical_and_max_new_tokens_invalidates(tiny, varied_lab_model, tmp_path, monkeypatch):
    model, tokenizer = tiny
    sent = count_requests(model, monkeypatch)
    prompts = lab_prompts(varied_lab_model)
    examples = [f"qab/{i}" for i in range(len(prompts))]
    plain = generate(model, tokenizer, prompts, 6, batch_size=4)
    assert_varied(plain, 6)
    with RequestCache(tmp_path / FILENAME) as cache:
        scope = cache.scope("m", "lab_qa@1")
        assert generate(model, tokenizer, prompts[:4], 6, 1, cache=scope, examples=examples[:4]) == plain[:4]
        sent["generate"] = 0
        assert generate(model, tokenizer, prompts, 6, 4, cache=scope, examples=examples) == plain
        assert sent["generate"] == len(prompts) - 4
        sent["generate"] = 0
        assert generate(model, tokenizer, prompts, 6, 4, cache=scope, examples=examples) == plain
        assert sent["generate"] == 0
        generate(model, tokenizer, prompts, 5, 4, cache=scope, examples=examples)  # another max_new_tokens
        assert sent["generate"] == len(prompts)
        other_task = cache.scope("m", "lab_qa@2")  # a new task version
        generate(model, tokenizer, prompts, 6, 4, cache=other_task, examples=examples)
        assert sent["generate"] == 2 * len(prompts)


def test_rerun_of_an_evaluation_sends_nothing_to_the_model(varied_lab_model, tmp_path, counting_loader, capsys):
    def run(out: Path, cache_dir: Path | None) -> list[dict]:
        out.mkdir()
        ctx = TaskContext(model_dir=varied_lab_model)
        return runner.evaluate("base", varied_lab_model, ctx, ["lab_qa"], ["en", "qac"], 4, 7, out, cache_dir)

    plain = run(tmp_path / "plain", None)
    first = run(tmp_path / "first", tmp_path / "cache")
    second = run(tmp_path / "second", tmp_path / "cache")
    n = 2 * plain[0]["n"]
    assert [load["generate"] for load in counting_loader] == [n, n]  # the rerun does not even load the model
    assert f"base lab_qa qac ({plain[0]['n']} cached)" in capsys.readouterr().err  # progress: stderr
    assert plain == first == second
    for name in ("predictions.jsonl", "metrics.csv"):
        text = (tmp_path / "plain" / name).read_bytes()
        assert (tmp_path / "first" / name).read_bytes() == text == (tmp_path / "second" / name).read_bytes()
    predictions = (tmp_path / "plain" / "predictions.jsonl").read_text(encoding="utf-8").splitlines()
    assert_varied([json.loads(line)["prediction"] for line in predictions], n // 2)


def test_model_fingerprint_follows_the_weights_and_hashes_each_file_once(tiny_lab_model, tmp_path, monkeypatch):
    from safetensors.torch import load_file, save_file

    import xinstruct.evaluate.cache as cache_module

    hashed = []
    sha256_file = cache_module.sha256_file
    monkeypatch.setattr(cache_module, "sha256_file", lambda path: hashed.append(path.name) or sha256_file(path))
    copy = tmp_path / "model"
    shutil.copytree(tiny_lab_model, copy)
    with RequestCache(tmp_path / FILENAME) as cache:
        original = cache.fingerprint(tiny_lab_model)
        assert cache.fingerprint(copy) == original  # content, not path
        assert "model.safetensors" in hashed and "manifest.json" not in hashed and "lab_world.json" not in hashed
    hashed.clear()
    with RequestCache(tmp_path / FILENAME) as cache:  # another process: hashes come from the database
        assert cache.fingerprint(copy) == original and hashed == []
        (copy / "README.md").write_text("a model card does not change the outputs")
        assert cache.fingerprint(copy) == original
        adapter = tmp_path / "adapter"
        adapter.mkdir()
        (adapter / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": str(copy)}))
        on_original_base = cache.fingerprint(adapter)
        hashed.clear()
        weights = load_file(copy / "model.safetensors")
        name = sorted(weights)[0]
        weights[name] = weights[name] + 0.01
        save_file(weights, copy / "model.safetensors", metadata={"format": "pt"})
        assert cache.fingerprint(copy) != original and hashed == ["model.safetensors"]  # size, mtime changed
        assert cache.fingerprint(adapter) != on_original_base  # an adapter's base model counts too
        assert cache.fingerprint("org/not-local") == "hub:org/not-local@unresolved"
        assert cache.fingerprint("org/not-local", "abc123") == "hub:org/not-local@abc123"


def test_changed_weights_invalidate_an_evaluation(tiny_lab_model, tmp_path, counting_loader):
    from safetensors.torch import load_file, save_file

    copy = tmp_path / "model"
    shutil.copytree(tiny_lab_model, copy)

    def run(out: str) -> None:
        (tmp_path / out).mkdir()
        ctx = TaskContext(model_dir=copy)
        runner.evaluate("m", copy, ctx, ["lab_qa"], ["en"], 4, 8, tmp_path / out, tmp_path / "cache")

    run("first")
    weights = load_file(copy / "model.safetensors")
    save_file({k: v * 1.5 for k, v in weights.items()}, copy / "model.safetensors", metadata={"format": "pt"})
    run("changed")
    run("again")
    assert counting_loader[0]["generate"] > 0
    assert [load["generate"] for load in counting_loader] == [counting_loader[0]["generate"]] * 2  # "again": no load


@needs_shared
def test_sigkilled_eval_resumes_without_recomputing(tiny_lab_model, tmp_path, counting_loader, capsys):
    """The child pauses after its 5th committed batch (`tests/killing.py`) and is killed there: it can never
    finish first, and exactly 5 batches of 2 requests are in the cache."""
    from xinstruct.evaluate.standalone import evaluate_model

    cache_dir, limit = tmp_path / "cache", 40
    total = 2 * limit  # xcopa: two choices per example, one request each
    db = cache_dir / FILENAME
    args = ["--model", str(tiny_lab_model), "--tasks", "xcopa", "--languages", "zh", "--data-dir", str(SHARED_DATA)]
    args += ["--limit", str(limit), "--batch-size", "2", "--cache-dir", str(cache_dir), "--out", str(tmp_path / "a")]
    target = "xinstruct.evaluate.cache:RequestCache.put_many"  # one call per batch, after its commit
    proc = run_until_paused(tmp_path / "signals", target, 5, ["eval", *args], tmp_path / "log.txt")
    sigkill(proc)
    assert not (tmp_path / "a").exists()  # the output directory is written atomically: nothing published
    cached = cached_requests(db)
    assert cached == 10  # the 5 whole batches of 2 committed before the kill, nothing of the next

    capsys.readouterr()
    model, data = str(tiny_lab_model), str(SHARED_DATA)
    evaluate_model(model, ["xcopa"], ["zh"], tmp_path / "a", limit, 2, 64, data, cache_dir)  # the rerun, resumed
    assert counting_loader[-1]["forward"] == total - cached  # nothing finished before the kill is recomputed
    assert f"({cached} cached)" in capsys.readouterr().err
    assert cached_requests(db) == total

    evaluate_model(model, ["xcopa"], ["zh"], tmp_path / "b", limit, 2, 64, data)  # uninterrupted, no cache
    assert counting_loader[-1]["forward"] == total
    for name in ("predictions.jsonl", "metrics.csv", "results.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name

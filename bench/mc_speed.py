"""Bench: multiple-choice scoring speed of xinstruct vs lm-evaluation-harness on the real XCOPA data.

    .venv/bin/pip install lm_eval          # the anchor tool (not a dependency of xinstruct)
    .venv/bin/python bench/mc_speed.py [--batch-size 32] [--limit N] [--repeat 3]

One from-config Llama (~30M parameters, 32k-token BPE trained here on the data, random weights)
is loaded once and scored by both engines, model loading excluded from both timings, same batch
size: xinstruct's log-likelihood engine (`xinstruct.evaluate.loglik`) over the `xcopa` task in all
11 languages, and lm-eval's HF backend over the same files through a local task YAML (its own
xcopa prompt functions, `dataset_path: json`, so it runs offline). Prints
`mc_speed: xinstruct X s, lm-eval Y s, ratio R, predictions identical: yes|no` (goal R >= 3) and
the largest per-choice log-likelihood difference, and each engine's matmul arithmetic (`arithmetic`)
and rate. The two engines run `repeat` times, alternating, and each one's fastest run counts:
timings on a shared 2-core machine drift by 20% within minutes, and the minimum is the least
disturbed estimate of each (every repeat must give the same scores).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from hardware import add_arguments, config_overrides, place, shared_data  # noqa: E402

SHARED = shared_data()
LANGUAGES = ("et", "ht", "id", "it", "qu", "sw", "ta", "th", "tr", "vi", "zh")

TASK_YAML = """task: bench_xcopa_{lang}
dataset_path: json
dataset_kwargs:
  data_files:
    test: {path}
output_type: multiple_choice
test_split: test
doc_to_text: !function utils.doc_to_text_{lang}
doc_to_target: label
doc_to_choice: !function utils.doc_to_choice
metric_list:
  - metric: acc
"""


def make_model(out: Path, size: str = "small") -> Path:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    texts = []
    for lang in LANGUAGES:
        for line in (SHARED / "xcopa" / "data" / lang / f"test.{lang}.jsonl").read_text(encoding="utf-8").splitlines():
            doc = json.loads(line)
            texts += [doc["premise"], doc["choice1"], doc["choice2"]]
    alpaca = json.loads((SHARED / "alpaca" / "alpaca_data.json").read_text(encoding="utf-8"))[:20000]
    texts += [r["instruction"] + " " + r["output"] for r in alpaca]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=32000, special_tokens=["<s>", "</s>", "<pad>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tok.train_from_iterator(texts, trainer=trainer)
    from tokenizers.processors import TemplateProcessing

    tok.post_processor = TemplateProcessing(single="<s> $A", pair="<s> $A $B", special_tokens=[("<s>", 0)])
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="<pad>")
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=384, intermediate_size=1024, num_hidden_layers=6,
        num_attention_heads=6, max_position_embeddings=1024, bos_token_id=0, eos_token_id=1, pad_token_id=2,
        tie_word_embeddings=False,
    )  # fmt: skip
    for key, value in config_overrides(size).items():
        setattr(config, key, value)
    LlamaForCausalLM(config).save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    return out


def run_xinstruct(model, tokenizer, batch_size: int, limit: int | None) -> tuple[float, dict]:
    from xinstruct.evaluate.loglik import loglikelihoods
    from xinstruct.evaluate.tasks import TASKS
    from xinstruct.evaluate.tasks.common import TaskContext

    ctx = TaskContext(data_dir=str(SHARED), limit=limit)
    rows = {lang: TASKS["xcopa"].load(ctx, lang) for lang in LANGUAGES}
    requests = [(r["context"], " " + c) for lang in LANGUAGES for r in rows[lang] for c in r["choices"]]
    t0 = time.perf_counter()
    scores = loglikelihoods(model, tokenizer, requests, batch_size, "xinstruct xcopa")
    seconds = time.perf_counter() - t0
    out, i = {}, 0
    for lang in LANGUAGES:
        for r in rows[lang]:
            out[(lang, r["id"])] = [scores[i + j][0] for j in range(len(r["choices"]))]
            i += len(r["choices"])
    return seconds, out


def arithmetic(model, tokenizer, limit: int | None) -> tuple[float, float]:
    """Matmul FLOPs (decoder linears and LM head, unpadded) of each engine's layout, in TFLOP.

    lm-eval runs every request's context + continuation (minus its last token) through the decoder
    and the head; xinstruct runs each context once plus its choices' prefix tree through the decoder,
    and the head once per distinct scored position. Attention scores are left out (short sequences).
    """
    from xinstruct.evaluate.loglik import _prefix_tree, encode_pair
    from xinstruct.evaluate.tasks import TASKS
    from xinstruct.evaluate.tasks.common import TaskContext

    c = model.config
    kv = c.hidden_size // c.num_attention_heads * c.num_key_value_heads
    layer = 2 * c.num_hidden_layers * c.hidden_size * (2 * c.hidden_size + 2 * kv + 3 * c.intermediate_size)
    head = 2 * c.hidden_size * c.vocab_size
    ctx = TaskContext(data_dir=str(SHARED), limit=limit)
    theirs = ours = 0
    for lang in LANGUAGES:
        for row in TASKS["xcopa"].load(ctx, lang):
            pairs = {k: encode_pair(tokenizer, row["context"], " " + choice) for k, choice in enumerate(row["choices"])}
            theirs += sum(len(a) + len(b) - 1 for a, b in pairs.values()) * (layer + head)
            nodes = len(_prefix_tree(pairs, list(pairs))[0])
            ours += (len(pairs[0][0]) + nodes) * layer + (1 + nodes) * head
    return ours / 1e12, theirs / 1e12


def run_lm_eval(model, tokenizer, batch_size: int, limit: int | None, work: Path) -> tuple[float, dict]:
    import lm_eval
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager

    tasks_dir = work / "lm_eval_tasks"
    tasks_dir.mkdir(exist_ok=True)
    import shutil

    shutil.copy(Path(lm_eval.__file__).parent / "tasks" / "xcopa" / "utils.py", tasks_dir / "utils.py")
    for lang in LANGUAGES:
        path = SHARED / "xcopa" / "data" / lang / f"test.{lang}.jsonl"
        (tasks_dir / f"bench_xcopa_{lang}.yaml").write_text(TASK_YAML.format(lang=lang, path=path))
    lm = HFLM(pretrained=model, tokenizer=tokenizer, batch_size=batch_size, device=str(model.device))
    manager = TaskManager(include_path=str(tasks_dir))
    t0 = time.perf_counter()
    results = lm_eval.simple_evaluate(
        model=lm, tasks=[f"bench_xcopa_{lang}" for lang in LANGUAGES], task_manager=manager, limit=limit,
        log_samples=True, bootstrap_iters=0,
    )  # fmt: skip
    seconds = time.perf_counter() - t0
    out = {}
    for lang in LANGUAGES:
        for sample in results["samples"][f"bench_xcopa_{lang}"]:
            out[(lang, str(sample["doc"]["idx"]))] = [float(resp[0][0]) for resp in sample["resps"]]
    return seconds, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--limit", type=int, default=None, help="examples per language (default: all 500)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each engine, alternating; the fastest counts")
    add_arguments(parser)
    args = parser.parse_args()
    if not SHARED.exists():
        sys.exit(f"bench needs {SHARED} (the team's shared data)")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(0)
    with tempfile.TemporaryDirectory(prefix="xinstruct-bench-") as tmp:
        work = Path(tmp)
        model_dir = make_model(work / "model", args.size)
        model = place(AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32), args)
        tokenizer = AutoTokenizer.from_pretrained(model_dir)
        n_params = sum(p.numel() for p in model.parameters()) / 1e6
        print(f"model: {n_params:.1f}M parameters, vocabulary {len(tokenizer)}, {args.device} {args.dtype}",
              file=sys.stderr)  # fmt: skip
        ours_times, theirs_times = [], []
        for run in range(args.repeat):
            seconds, ours_run = run_xinstruct(model, tokenizer, args.batch_size, args.limit)
            ours_times.append(seconds)
            seconds, theirs_run = run_lm_eval(model, tokenizer, args.batch_size, args.limit, work)
            theirs_times.append(seconds)
            if run == 0:
                ours, theirs = ours_run, theirs_run
            assert ours_run == ours and theirs_run == theirs, "an engine changed its scores between runs"
            print(f"run {run + 1}: xinstruct {ours_times[-1]:.1f} s, lm-eval {theirs_times[-1]:.1f} s", file=sys.stderr)
        ours_s, theirs_s = min(ours_times), min(theirs_times)
        flops = arithmetic(model, tokenizer, args.limit)
    assert ours.keys() == theirs.keys(), "the two engines scored different documents"
    diff = max(abs(a - b) for key in ours for a, b in zip(ours[key], theirs[key], strict=True))
    same = all(
        max(range(len(v)), key=lambda i, v=v: (v[i], -i))
        == max(range(len(theirs[k])), key=lambda i, k=k: (theirs[k][i], -i))
        for k, v in ours.items()
    )
    print(f"documents: {len(ours)}, largest log-likelihood difference: {diff:.2e}", file=sys.stderr)
    print(
        f"arithmetic: xinstruct {flops[0]:.2f} TFLOP, lm-eval {flops[1]:.2f} TFLOP, ratio {flops[1] / flops[0]:.2f}; "
        f"rate: xinstruct {flops[0] * 1e3 / ours_s:.0f} GFLOP/s, lm-eval {flops[1] * 1e3 / theirs_s:.0f} GFLOP/s",
        file=sys.stderr,
    )
    print(
        f"mc_speed: xinstruct {ours_s:.1f} s, lm-eval {theirs_s:.1f} s, ratio {theirs_s / ours_s:.2f}, "
        f"predictions identical: {'yes' if same else 'no'}"
    )


if __name__ == "__main__":
    main()

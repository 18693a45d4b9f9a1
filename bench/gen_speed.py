"""Bench: greedy generation speed of xinstruct vs lm-evaluation-harness on XQuAD-style prompts.

    .venv/bin/pip install lm_eval          # the anchor tool (not a dependency of xinstruct)
    .venv/bin/python bench/gen_speed.py [--batch-size 16] [--limit 96] [--max-new-tokens 32] [--repeat 3]

The same from-config Llama as bench/mc_speed.py (~35M parameters, 32k BPE trained here, random
weights) is loaded once; model loading is excluded from both timings. Prompts: the first `limit`
XQuAD English questions with their passages, in the xquad task's instruction. xinstruct's
`evaluate.generate.generate` (chat template that renders the prompt as is, so both see the same
tokens) and lm-eval's HF `generate_until` (until "\\n\\n", same max_gen_toks and batch size)
generate greedily. Prints `gen_speed: xinstruct X s, lm-eval Y s, ratio R, outputs identical: yes|no`
(goal R >= 2). As in bench/mc_speed.py, the engines run `repeat` times, alternating, and each
one's fastest run counts.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from hardware import add_arguments, place  # noqa: E402
from mc_speed import SHARED, make_model  # noqa: E402  (the same model and tokenizer)

STOP = "\n\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--limit", type=int, default=96)
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each engine, alternating; the fastest counts")
    add_arguments(parser)
    args = parser.parse_args()
    if not SHARED.exists():
        sys.exit(f"bench needs {SHARED} (the team's shared data)")
    import torch
    from lm_eval.api.instance import Instance
    from lm_eval.models.huggingface import HFLM
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from xinstruct.evaluate.generate import generate
    from xinstruct.evaluate.tasks import TASKS
    from xinstruct.evaluate.tasks.common import TaskContext

    torch.manual_seed(0)
    rows = TASKS["xquad"].load(TaskContext(data_dir=str(SHARED), limit=args.limit), "en")
    prompts = [row["messages"][0]["content"] for row in rows]
    with tempfile.TemporaryDirectory(prefix="xinstruct-bench-") as tmp:
        model_dir = make_model(Path(tmp) / "model", args.size)
        model = place(AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32), args)
        tokenizer = AutoTokenizer.from_pretrained(model_dir)
        tokenizer.chat_template = "{{ bos_token }}{{ messages[0]['content'] }}"  # the raw prompt, as lm-eval sees it

        lm = HFLM(pretrained=model, tokenizer=tokenizer, batch_size=args.batch_size, device=str(model.device))
        gen_kwargs = {"until": [STOP], "max_gen_toks": args.max_new_tokens, "do_sample": False}
        chats = [[{"role": "user", "content": p}] for p in prompts]
        ours_times, theirs_times = [], []
        for run in range(args.repeat):
            t0 = time.perf_counter()
            ours_run = generate(
                model, tokenizer, chats, args.max_new_tokens, args.batch_size, "xinstruct xquad", stop=[STOP]
            )
            ours_times.append(time.perf_counter() - t0)
            requests = [
                Instance(request_type="generate_until", doc={}, arguments=(p, dict(gen_kwargs)), idx=0) for p in prompts
            ]
            t0 = time.perf_counter()
            theirs_run = lm.generate_until(requests)
            theirs_times.append(time.perf_counter() - t0)
            if run == 0:
                ours, theirs = ours_run, theirs_run
            assert ours_run == ours and theirs_run == theirs, "an engine changed its outputs between runs"
            print(f"run {run + 1}: xinstruct {ours_times[-1]:.1f} s, lm-eval {theirs_times[-1]:.1f} s", file=sys.stderr)
        ours_s, theirs_s = min(ours_times), min(theirs_times)
    same = [a.strip() for a in ours] == [b.strip() for b in theirs]
    differing = sum(a.strip() != b.strip() for a, b in zip(ours, theirs, strict=True))
    print(f"prompts: {len(prompts)}, outputs that differ: {differing}", file=sys.stderr)
    print(
        f"gen_speed: xinstruct {ours_s:.1f} s, lm-eval {theirs_s:.1f} s, ratio {theirs_s / ours_s:.2f}, "
        f"outputs identical: {'yes' if same else 'no'}"
    )


if __name__ == "__main__":
    main()

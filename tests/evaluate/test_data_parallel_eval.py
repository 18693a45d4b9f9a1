"""Data-parallel evaluation: 2 CPU processes over gloo give a single process's files, byte for byte.

Why: under torchrun / accelerate launch every rank scores a share of the batches and rank 0 merges and writes;
nothing about the results may depend on how many processes computed them. Each rank runs exactly the batches a
single process would (same batch mates, same padding), so results.csv and predictions.jsonl, with every
log-likelihood to the last digit, must be the same bytes. Both runs use one thread per process
(OMP_NUM_THREADS=1, what torchrun sets), so the comparison is not about BLAS threading. A model whose answers
vary by prompt makes a mix-up of rows between ranks visible; a generation task and a multiple-choice task
(a Belebele fixture in the official layout) cover both engines. The shared request cache is checked too: a rerun
under the launcher scores nothing and gives the same bytes.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.varied_model import assert_varied

PASSAGES = [
    ("the city of bob is rome. the pet of bob is a dog.", "what is the city of bob?", "rome", "paris", "a dog", "bob"),
    ("the pet of mitur is a cat. mitur is a baker.", "what is the pet of mitur?", "a dog", "a cat", "bread", "rome"),
    ("the job of ana is a baker. ana lives in paris.", "where does ana live?", "rome", "a baker", "paris", "ana"),
    ("the city of ana is paris.", "what is the city of ana?", "paris", "rome", "a cat", "a doctor"),
    ("the pet of bob is a dog. bob is a doctor.", "what is the job of bob?", "a dog", "a baker", "rome", "a doctor"),
    ("mitur is a doctor in rome.", "where is mitur a doctor?", "paris", "rome", "a cat", "bread"),
    ("the pet of ana is a bird.", "what is the pet of ana?", "a bird", "a dog", "a cat", "paris"),
    ("bob lives in rome with a dog.", "who lives in rome?", "ana", "mitur", "bob", "a bird"),
    ("the job of bob is a doctor.", "what is the job of bob?", "a baker", "a doctor", "a bird", "rome"),
]


def write_belebele(root: Path) -> Path:
    """A small English Belebele file in the official layout (`belebele/eng_Latn.jsonl`)."""
    path = root / "belebele" / "eng_Latn.jsonl"
    path.parent.mkdir(parents=True)
    rows = [
        {"link": "lab", "question_number": i + 1, "flores_passage": passage, "question": question,
         **{f"mc_answer{k + 1}": answer for k, answer in enumerate(answers)}, "correct_answer_num": str(i % 4 + 1)}
        for i, (passage, question, *answers) in enumerate(PASSAGES)
    ]  # fmt: skip
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return root


def free_port() -> int:
    with socket.socket() as probe:  # a free port for the rendezvous
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def eval_command(model: Path, data: Path, out: Path, cache: Path, ranks: int) -> list[str]:
    launcher = [sys.executable]
    if ranks > 1:
        launcher += ["-m", "torch.distributed.run", "--nproc_per_node", str(ranks), "--master_port", str(free_port())]
    return [
        *launcher,
        "-m",
        "xinstruct.cli",
        "eval",
        "--model", str(model),
        "--tasks", "lab_qa,belebele",
        "--languages", "en,qab",
        "--limit", "20",
        "--batch-size", "4",
        "--max-new-tokens", "6",
        "--data-dir", str(data),
        "--cache-dir", str(cache),
        "--out", str(out),
    ]  # fmt: skip


def run(command: list[str]) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE")}
    proc = subprocess.run(command, capture_output=True, text=True, env={**env, "OMP_NUM_THREADS": "1"}, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]


@pytest.mark.slow
def test_two_gloo_ranks_write_a_single_processs_bytes(varied_lab_model, tmp_path):
    data = write_belebele(tmp_path / "data")
    single, double, again = tmp_path / "single", tmp_path / "double", tmp_path / "again"
    run(eval_command(varied_lab_model, data, single, tmp_path / "cache1", ranks=1))
    run(eval_command(varied_lab_model, data, double, tmp_path / "cache2", ranks=2))

    for name in ("results.csv", "predictions.jsonl", "metrics.csv"):
        assert (double / name).read_bytes() == (single / name).read_bytes(), name
    predictions = [json.loads(line) for line in (single / "predictions.jsonl").read_text().splitlines()]
    assert_varied([p["prediction"] for p in predictions if p["task"] == "lab_qa"], 10)
    assert_varied([p["prediction"] for p in predictions if p["task"] == "belebele"], 1)
    assert_varied([tuple(p["loglikelihoods"]) for p in predictions if p["task"] == "belebele"], 8)
    total = sum(1 for p in predictions if p["task"] == "lab_qa") + 4 * len(PASSAGES)  # belebele: one per choice

    one = json.loads((single / "manifest.json").read_text())
    two = json.loads((double / "manifest.json").read_text())
    assert one["world_size"] == 1 and one["requests_per_rank"] == [total]
    assert two["world_size"] == 2 and len(two["requests_per_rank"]) == 2 and sum(two["requests_per_rank"]) == total
    assert min(two["requests_per_rank"]) > 0  # both ranks scored a share
    assert two["dtype"] == "fp32" and two["device"] == "cpu" and two["engine"] == "hf"
    assert set(two["files"]) == {"metrics.csv", "predictions.jsonl", "results.csv"}
    assert not list(tmp_path.glob(".double.tmp-*"))  # only rank 0 published; nothing left behind

    run(eval_command(varied_lab_model, data, again, tmp_path / "cache2", ranks=2))  # the shared cache answers all
    assert json.loads((again / "manifest.json").read_text())["requests_per_rank"] == [0, 0]
    for name in ("results.csv", "predictions.jsonl"):
        assert (again / name).read_bytes() == (single / name).read_bytes(), name


@pytest.mark.slow
def test_the_experiment_eval_stage_under_two_ranks_matches_one_process(varied_lab_model, tmp_path, cache_dir):
    """`xinstruct eval EXP.yaml` under the launcher (the pipeline's guard lets the eval stage through): rank 0
    publishes the stage with a single process's files and the ranks' request counts in its manifest."""
    from tests.conftest import TINY_EXPERIMENT
    from xinstruct import pipeline
    from xinstruct.config import parse_experiment

    data = write_belebele(tmp_path / "data")
    (data / "mgsm").mkdir()
    (data / "mgsm" / "mgsm_en.tsv").write_text("".join(f"{p[1]} {p[0]}\t{i}\n" for i, p in enumerate(PASSAGES)))
    text = (
        TINY_EXPERIMENT.replace("model: lab\n", f"model: {varied_lab_model}\n")  # answers that vary by prompt
        .replace("languages: [en, qaa, qac]", "languages: [en]")  # (lab languages need `model: lab`)
        .replace("lr: 1.0e-3", "lr: 1.0e-6")  # tuning barely moves it
        .replace("  pinch: {recipe: pinch, source: lab_en, n_examples: 40, share: 0.25, languages: [qaa, qac]}\n", "")
        .replace(
            "eval: {tasks: [lab_qa], max_new_tokens: 8, batch_size: 32}",
            f"eval: {{tasks: [belebele, mgsm], max_new_tokens: 6, batch_size: 4, data_dir: {data}}}",
        )
    )
    path = tmp_path / "exp.yaml"
    path.write_text(text)
    base = tmp_path / "base"
    pipeline.run(parse_experiment(text), base, cache_dir, stages=("data", "train"), report=False)
    outs = {}
    for ranks in (1, 2):
        out = outs[ranks] = tmp_path / f"ranks{ranks}"
        shutil.copytree(base, out)
        launcher = [sys.executable]
        if ranks > 1:
            launcher += ["-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", str(free_port())]
        cache = tmp_path / f"cache{ranks}"  # a cold request cache each: both compute everything
        run([*launcher, "-m", "xinstruct.cli", "eval", str(path), "--out", str(out), "--cache-dir", str(cache)])
    stage = [outs[n] / "english_only" / "eval" for n in (1, 2)]
    for name in ("metrics.csv", "predictions.jsonl"):
        assert (stage[1] / name).read_bytes() == (stage[0] / name).read_bytes(), name
    predictions = [json.loads(line) for line in (stage[0] / "predictions.jsonl").read_text().splitlines()]
    assert_varied([p["prediction"] for p in predictions if p["task"] == "mgsm"], 5)
    assert_varied([tuple(p["loglikelihoods"]) for p in predictions if p["task"] == "belebele"], 8)
    one, two = (json.loads((s / "manifest.json").read_text()) for s in stage)
    assert one["world_size"] == 1 and two["world_size"] == 2 and two["key"] == one["key"]
    assert sum(two["requests_per_rank"]) == sum(one["requests_per_rank"]) == 5 * len(PASSAGES)  # mgsm 1, belebele 4

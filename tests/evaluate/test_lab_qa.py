"""lab_qa scoring on hand-made answers, and generation + evaluation on the tiny fixture model."""

import csv

from xinstruct.evaluate.runner import RESULT_COLUMNS, evaluate
from xinstruct.evaluate.tasks import TASKS
from xinstruct.evaluate.tasks.common import TaskContext
from xinstruct.lab.pretrain import load_world


def test_scoring_separates_accuracy_fidelity_and_recall(tiny_lab_model):
    task = TASKS["lab_qa"]
    world = load_world(tiny_lab_model)
    ctx = TaskContext(model_dir=tiny_lab_model)
    rows = task.load(ctx, "qaa")
    assert len(rows) == sum(len(p.facts) for p in world.heldout_people)
    perfect = [r["answer"].upper() + "  " for r in rows]  # normalization: case, spaces
    metrics, _ = task.score(ctx, "qaa", rows, perfect)
    assert metrics == {"accuracy": 1.0, "fidelity": 1.0, "value_recall": 1.0}
    english = [
        world.translate(
            world.render("fact", {"attr": r["attr"], "name": r["id"].split("-")[0], "value": r["value"]}, "en"), "en"
        )
        for r in rows
    ]
    metrics, details = task.score(ctx, "qaa", rows, english)  # right value, wrong language
    assert metrics == {"accuracy": 0.0, "fidelity": 0.0, "value_recall": 1.0}
    assert {d["detected_lang"] for d in details} == {"en"}
    metrics, _ = task.score(ctx, "qaa", rows, [""] * len(rows))
    assert metrics == {"accuracy": 0.0, "fidelity": 0.0, "value_recall": 0.0}


def test_evaluate_fixture_model(tiny_lab_model, tmp_path):
    rows = evaluate(
        "base",
        tiny_lab_model,
        TaskContext(model_dir=tiny_lab_model),
        ["lab_qa"],
        ["en", "qac"],
        max_new_tokens=4,
        batch_size=7,
        out=tmp_path,
    )
    assert {(r["language"], r["metric"]) for r in rows} == {
        (lang, m) for lang in ("en", "qac") for m in ("accuracy", "fidelity", "value_recall")
    }
    with open(tmp_path / "metrics.csv") as f:
        assert next(csv.reader(f)) == RESULT_COLUMNS
    n_lines = sum(1 for _ in open(tmp_path / "predictions.jsonl"))
    assert n_lines == 2 * rows[0]["n"]


def test_generation_is_batch_independent(tiny_lab_model):
    """Left padding and length sorting must not change greedy outputs."""
    from xinstruct.evaluate.generate import generate
    from xinstruct.evaluate.runner import load_model

    model, tokenizer = load_model(tiny_lab_model)
    prompts = [row["messages"] for row in TASKS["lab_qa"].load(TaskContext(model_dir=tiny_lab_model), "qab")[:9]]
    assert generate(model, tokenizer, prompts, 6, batch_size=1) == generate(model, tokenizer, prompts, 6, batch_size=4)


def test_shared_prefix_batches_give_the_same_outputs(tiny_lab_model, monkeypatch):
    """Prompts sharing a long prefix run it once per batch; the outputs equal one-by-one generation."""
    from xinstruct.evaluate import generate as gen
    from xinstruct.evaluate.runner import load_model

    model, tokenizer = load_model(tiny_lab_model)
    rows = TASKS["lab_qa"].load(TaskContext(model_dir=tiny_lab_model), "en")[:7]
    passage = " ".join(row["answer"] for row in rows)  # a long passage all questions share
    prompts = [[{"role": "user", "content": passage + " " + row["question"]}] for row in rows]
    encoded = {i: gen._ids(tokenizer.apply_chat_template(p, add_generation_prompt=True)) for i, p in enumerate(prompts)}
    plan = gen.plan_batches(encoded, batch_size=4)
    assert sorted(len(idx) for idx, _ in plan) == [3, 4] and all(min(shared) >= gen.MIN_SHARED for _, shared in plan)
    shared = gen.generate(model, tokenizer, prompts, 8, batch_size=4)
    monkeypatch.setattr(gen, "MIN_SHARED", 10**9)  # no sharing: plain left-padded batches of one
    assert gen.generate(model, tokenizer, prompts, 8, batch_size=1) == shared


def test_groups_with_different_prefixes_share_a_batch(tiny_lab_model, monkeypatch):
    """Two passages of different lengths, three questions each, in one batch of six rows."""
    from xinstruct.evaluate import generate as gen
    from xinstruct.evaluate.runner import load_model

    model, tokenizer = load_model(tiny_lab_model)
    rows = TASKS["lab_qa"].load(TaskContext(model_dir=tiny_lab_model), "en")[:9]
    long_passage = " ".join(row["answer"] for row in rows)
    short_passage = " ".join(row["answer"] for row in reversed(rows[2:6]))
    prompts = [
        [{"role": "user", "content": f"{passage} {row['question']}"}]
        for passage in (long_passage, short_passage)
        for row in rows[:3]
    ]
    encoded = {i: gen._ids(tokenizer.apply_chat_template(p, add_generation_prompt=True)) for i, p in enumerate(prompts)}
    plan = gen.plan_batches(encoded, batch_size=8)
    assert len(plan) == 1 and len(set(plan[0][1])) == 2  # one batch, two prefix lengths
    shared = gen.generate(model, tokenizer, prompts, 8, batch_size=8)
    monkeypatch.setattr(gen, "MIN_SHARED", 10**9)
    assert gen.generate(model, tokenizer, prompts, 8, batch_size=1) == shared

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

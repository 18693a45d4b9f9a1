"""The papers' lab twins (`xinstruct demo --paper NAME`), the lab judge, and the lab pieces they need."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from xinstruct.evaluate.judge.lab import LAB_ASPECTS, NOT_APPLICABLE, LabJudge
from xinstruct.lab.world import ATTRIBUTES, World, WorldConfig


@pytest.fixture(scope="module")
def world() -> World:
    return World(WorldConfig(seed=3, n_people=12))


def _fact(world: World, lang: str = "en"):
    person = world.heldout_people[0]
    attr, value = next(iter(person.facts.items()))
    wrong = next(v for v in ATTRIBUTES[attr] if v != value)
    return person, attr, value, wrong


def _judge(world, item, answer):
    scores, _ = LabJudge(world).scores(item, answer)
    return {aspect: score == 5 for aspect, score in scores.items()}


def _ask(world, lang, kind, person, attr, value=None):
    slots = {"attr": attr, "name": person.name, "value": value or person.facts[attr]}
    return {"id": "x", "language": lang, "prompt": world.render(kind, slots, lang)}


def test_every_sentence_parses_back_in_its_language(world):
    from xinstruct.lab.world import TEMPLATES

    person, other = world.people[0], world.people[1]
    attr = next(iter(person.facts))
    slots = {"attr": attr, "name": person.name, "name2": other.name, "value": person.facts[attr]}
    for lang in world.config.languages:
        for template in TEMPLATES:
            text = world.render(template, slots, lang)
            name, parsed = world.parse(text, lang)
            assert name == template and all(parsed[k] == slots[k] for k in parsed), (lang, template, text)
    with pytest.raises(ValueError):
        world.parse(world.render("fact", slots, "qaa"), "en")


def test_lab_judge_attribute_question_aspects(world):
    person, attr, value, wrong = _fact(world)
    item = _ask(world, "qab", "ask_attr", person, attr)
    right = world.render("fact", {"attr": attr, "name": person.name, "value": value}, "qab")
    assert _judge(world, item, right) == dict.fromkeys(LAB_ASPECTS, True)
    # the right value, in English: everything but the language
    english = world.render("fact", {"attr": attr, "name": person.name, "value": value}, "en")
    assert _judge(world, item, english) == {**dict.fromkeys(LAB_ASPECTS, True), "language": False}
    # a fluent, self-consistent, wrong answer: not factual
    false = world.render("fact", {"attr": attr, "name": person.name, "value": wrong}, "qab")
    assert _judge(world, item, false) == {**dict.fromkeys(LAB_ASPECTS, True), "factuality": False}
    # two values: answered, but neither factual nor logical
    both = right + " " + false
    verdict = _judge(world, item, both)
    assert verdict["helpfulness"] and verdict["fluency"] and not verdict["factuality"] and not verdict["logic"]
    # the value in a broken sentence: factual and answered, not fluent
    broken = right.rstrip(".")[:-1] + " " + world.lexicons["qab"][value] + " ,"
    verdict = _judge(world, item, broken)
    assert verdict["factuality"] and verdict["helpfulness"] and not verdict["fluency"]
    # nothing said
    assert _judge(world, item, "") == dict.fromkeys(LAB_ASPECTS, False)


def test_lab_judge_yes_no_logic(world):
    person, attr, value, wrong = _fact(world)
    item = _ask(world, "en", "ask_yesno", person, attr, wrong)  # asks for the wrong value: the answer is no
    slots = {"attr": attr, "name": person.name}
    no_true = world.render("fact_no", {**slots, "value": value}, "en")
    assert _judge(world, item, no_true) == dict.fromkeys(LAB_ASPECTS, True)
    yes_true = world.render("fact_yes", {**slots, "value": value}, "en")  # "yes, ... is <true>": contradicts itself
    verdict = _judge(world, item, yes_true)
    assert verdict["fluency"] and verdict["helpfulness"] and not verdict["logic"] and not verdict["factuality"]
    yes_wrong = world.render("fact_yes", {**slots, "value": wrong}, "en")  # consistent, but false
    verdict = _judge(world, item, yes_wrong)
    assert verdict["logic"] and not verdict["factuality"]
    bare = world.lexicons["en"]["no"] + "."  # right, but states no value: not logic's "consistent with it"
    verdict = _judge(world, item, bare)
    assert verdict["factuality"] and verdict["helpfulness"] and not verdict["logic"]


def test_harmlessness_is_not_applicable(world):
    person, attr, value, _ = _fact(world)
    item = _ask(world, "en", "ask_attr", person, attr)
    [(scores, raw)] = LabJudge(world).rubric([item], ["anything"])
    assert "harmlessness" not in scores and set(scores) == set(LAB_ASPECTS)
    assert json.loads(raw)["not_applicable"] == ["harmlessness"] and "harmlessness" in NOT_APPLICABLE


def test_lab_judge_rejects_prompts_that_are_not_lab_questions(world):
    from xinstruct.errors import DataError

    with pytest.raises(DataError, match="not a lab attribute or yes/no question"):
        LabJudge(world).scores({"id": "1", "language": "en", "prompt": "Write a poem."}, "no.")


def test_lab_parallel_corpus_is_aligned_and_about_train_people(world):
    from xinstruct.data.sources import lab_pairs

    pairs = lab_pairs("par", "en", "qac", world.config)
    assert pairs and len({p.line for p in pairs}) == len(pairs)
    heldout = {p.name for p in world.heldout_people}
    assert not any(name in p.source for p in pairs for name in heldout)
    back = {p.line: p for p in lab_pairs("par", "qac", "en", world.config)}
    assert all(back[p.line].source == p.target for p in pairs)
    assert world.parse(pairs[0].target, "qac")


def test_lab_source_keeps_one_task_cluster(world):
    from xinstruct.config import SourceConfig
    from xinstruct.data.sources import load_source
    from xinstruct.errors import DataError

    kept = load_source("cmp", SourceConfig(path="lab", format="lab", task="ask_earlier"), world.config)
    assert kept and {ex.task for ex in kept} == {"ask_earlier"}
    with pytest.raises(DataError, match="ask_yesno"):
        load_source("x", SourceConfig(path="lab", format="lab", task="nli"), world.config)


def test_lab_qa_cross_picks_values_in_any_language_and_scores_consistency(world, tmp_path):
    from xinstruct.evaluate.tasks import TASKS
    from xinstruct.evaluate.tasks.common import TaskContext

    (tmp_path / "lab_world.json").write_text(world.config.model_dump_json())
    task, ctx = TASKS["lab_qa_cross"], TaskContext(model_dir=tmp_path)
    rows = {lang: task.load(ctx, lang)[:3] for lang in ("en", "qaa", "qab")}
    truth = [row["value"] for row in rows["en"]]
    wrong = [next(v for v in ATTRIBUTES[row["attr"]] if v != row["value"]) for row in rows["en"]]
    answers = {  # en: right, right, wrong; qaa: the same values, in English; qab: right, nothing, right
        "en": [rows["en"][0]["answer"], rows["en"][1]["answer"], f"the x is {wrong[2]}."],
        "qaa": [f"{truth[0]}.", f"{truth[1]}.", f"{wrong[2]}."],
        "qab": [rows["qab"][0]["answer"], "", rows["qab"][2]["answer"]],
    }
    chosen, golds = {}, {}
    for lang, preds in answers.items():
        metrics, details = task.score(ctx, lang, rows[lang], preds)
        chosen[lang], golds[lang] = [d["pick"] for d in details], [d["gold_pick"] for d in details]
        if lang == "qaa":  # the value right, in the wrong language: value_accuracy, not accuracy
            assert [d["value_accuracy"] for d in details] == [1.0, 1.0, 0.0] and metrics["accuracy"] == 0.0
    scores = task.aggregate(chosen, golds)
    assert scores["value_accuracy"] == pytest.approx((2 / 3 + 2 / 3 + 2 / 3) / 3)
    # pairs agree: (en, qaa) on all 3, (en, qab) on 1, (qaa, qab) on 1; all three on question 1 only
    assert scores["consistency_2"] == pytest.approx((3 + 1 + 1) / 3 / 3)
    assert scores["consistency_3"] == pytest.approx(1 / 3)
    assert 0 < scores["ac3_3"] < 1


def test_demo_rejects_an_unknown_paper(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "xinstruct.cli", "demo", "--paper", "no-such-paper", "--out", str(tmp_path / "x")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert "no-such-paper" in proc.stderr and "pinch" in proc.stderr
    assert not (tmp_path / "x").exists()


# -- the twins end to end (slow: minutes; the base model is built once and shared by every twin) -------


@pytest.fixture(scope="module")
def twin_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("twin-cache")


def _run_twin(paper: str, out, cache) -> list[dict]:
    proc = subprocess.run(
        [sys.executable, "-m", "xinstruct.cli", "demo", "--paper", paper, "--seed", "0", "--out", str(out),
         "--cache-dir", str(cache)],
        capture_output=True,
        text=True,
        timeout=1500,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (out / "report.md").exists()
    from xinstruct.config import load_experiment
    from xinstruct.presets import presets

    declared = load_experiment(presets()[f"lab/{paper}"]).claims
    if not declared:  # the paper's direction did not appear in the lab: the twin states none (see its file)
        assert not (out / "claims.json").exists()
        return []
    assert "claims" in proc.stdout
    claims = json.loads((out / "claims.json").read_text())
    assert len(claims) == len(declared) and all(c["difference"] is not None for c in claims), claims
    return claims


def _holds(claims: list[dict], better: str, worse: str, metric: str | None = None) -> bool:
    return any(
        c["holds"] for c in claims
        if c["claim"]["better"] == better and c["claim"]["worse"] == worse and metric in (None, c["metric"])
    )  # fmt: skip


@pytest.mark.slow
def test_pinch_twin(tmp_path, twin_cache):
    claims = _run_twin("pinch", tmp_path / "pinch", twin_cache)
    assert _holds(claims, "pinch", "english_only") and _holds(claims, "sweep-4", "english_only")


@pytest.mark.slow
def test_crossin_twin(tmp_path, twin_cache):
    claims = _run_twin("crossin", tmp_path / "crossin", twin_cache)
    import csv

    with open(tmp_path / "crossin" / "results.csv") as f:
        rows = [r for r in csv.DictReader(f) if r["task"] == "lab_qa_cross" and r["language"] == "all"]
    assert {"consistency_3", "ac3_3", "value_accuracy"} <= {r["metric"] for r in rows}
    assert claims == []  # x2x > english_only did not hold on seeds 0-2 (presets/lab/crossin.yaml)


@pytest.mark.slow
def test_english_only_twin(tmp_path, twin_cache):
    claims = _run_twin("english-only", tmp_path / "english-only", twin_cache)
    import csv

    out = tmp_path / "english-only"
    with open(out / "results.csv") as f:
        metrics = {r["metric"] for r in csv.DictReader(f) if r["task"] == "judge_rubric"}
    assert set(LAB_ASPECTS) | {"rubric_mean"} <= metrics and "harmlessness" not in metrics
    manifest = json.loads((out / "n380_lr1e-3" / "judge" / "manifest.json").read_text())
    assert "harmlessness" in manifest["not_applicable"]
    assert _holds(claims, "n100_lr1e-3", "n100_lr3e-4") and _holds(claims, "n380_lr3e-4", "n100_lr3e-4")


@pytest.mark.slow
def test_crossalpaca_twin(tmp_path, twin_cache):
    claims = _run_twin("crossalpaca", tmp_path / "crossalpaca", twin_cache)
    assert claims == []  # demonstrations did not help on seeds 0-2 (presets/lab/crossalpaca.yaml)
    manifest = json.loads((tmp_path / "crossalpaca" / "both" / "data" / "manifest.json").read_text())
    assert manifest["counts"]["part"] == {"base": 380, "demos": 240}
    manifest = json.loads((tmp_path / "crossalpaca" / "qaa_alpaca_both" / "data" / "manifest.json").read_text())
    assert manifest["counts"]["part"] == {"base": 380, "demos": 240}  # x-Alpaca in qaa + 120 en2x + 120 x2en
    assert manifest["counts"]["language"] == {"qaa": 500, "en": 120}


@pytest.mark.slow
def test_templates_twin(tmp_path, twin_cache):
    claims = _run_twin("templates", tmp_path / "templates", twin_cache)
    manifest = json.loads((tmp_path / "templates" / "qaa_templates" / "data" / "manifest.json").read_text())
    assert "ask_attr" not in manifest["counts"]["task"]  # the held-out cluster
    assert _holds(claims, "en_templates", "qaa_templates")

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
    broken = right.rstrip(".")[: -1] + " " + world.lexicons["qab"][value] + " ,"
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

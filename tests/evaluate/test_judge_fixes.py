"""Judge fixes: the pairwise partner by language (not tag) and by data manifest (not recipe name), a loud
fallback recorded in the outputs, long enough answers, and `n` that counts what the value averages.

No model runs here: the arms' answers and the judge are stand-ins (`run._answers`, `run.make_judge`),
so these tests exercise exactly the judge step's own logic.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.evaluate.test_judge import RUBRIC, read_rows
from xinstruct.config import Experiment, JudgeConfig
from xinstruct.evaluate.judge import run

PROMPTS = [
    {"id": "p1", "prompt": "Describe a river.", "reference": "water flows"},
    {"id": "p2", "prompt": "Name a colour. FAIL", "reference": "blue"},  # the stand-in judge never answers JSON
    {"id": "p3", "prompt": "Count to three.", "reference": "one two three"},
    {"id": "p4", "prompt": "Say hello.", "reference": "hello"},
]


class StandInJudge:
    """Ties every pair and gives every answer the same rubric, except for prompts marked FAIL: not JSON."""

    def identity(self, cache) -> str:
        return "judge:stand-in"

    def answer(self, conversations: list[list[dict]], description: str = "") -> list[str]:
        out = []
        for conversation in conversations:
            text = conversation[0]["content"]
            if "FAIL" in text:
                out.append("I liked it!")
            elif "[Answer A]" in text:
                out.append(json.dumps({"winner": "tie"}))
            else:
                out.append(json.dumps(RUBRIC))
        return out


def judged(
    tmp_path: Path, monkeypatch, languages: list[str], arms: dict, manifests: dict, answer_text=None, **judge
) -> tuple:
    """Run the judge step on an experiment whose arms' data manifests are `manifests` (arm -> language_pair
    counts); return (rows per arm, the output dir, the max_new_tokens the answers were generated with)."""
    for lang in languages:
        path = tmp_path / f"prompts_{lang}.jsonl"
        path.write_text("".join(json.dumps(p) + "\n" for p in PROMPTS), encoding="utf-8")
    raw = {
        "name": "judge-fixes",
        "languages": languages,
        "model": "some/base-model",
        "data": {
            "sources": {
                "alpaca_en": {"path": "alpaca_en.jsonl", "format": "alpaca", "language": "en"},
                "alpaca_zh": {"path": "alpaca_zh.jsonl", "format": "alpaca", "language": "zh"},
            },
            "translator": {"backend": "hf", "model": "some/mt-model"},  # real text: not the lab's translator
        },
        "arms": arms,
        "eval": {"tasks": ["xquad"]},  # a real model: real benchmarks (lab_qa is the lab's)
        "judge": {"model": "stand-in", "prompts": str(tmp_path / "prompts_{lang}.jsonl"), "retries": 0, **judge},
    }
    exp = Experiment.model_validate(raw)
    out = tmp_path / "out"
    for arm, pairs in manifests.items():
        (out / arm / "data").mkdir(parents=True)
        language: dict[str, int] = {}
        for pair, n in pairs.items():
            language[pair.split("->")[0]] = language.get(pair.split("->")[0], 0) + n
        manifest = {"recipe": arms[arm]["recipe"], "counts": {"language": language, "language_pair": pairs}}
        (out / arm / "data" / "manifest.json").write_text(json.dumps(manifest))
    lengths = []

    def answers(arm, model_dir, items, cfg, cache, placement=None):
        lengths.append(cfg.max_new_tokens)
        text = answer_text or (lambda arm, item: f"{arm} answers: {item['prompt']}")
        return {lang: [text(arm, item) for item in lang_items] for lang, lang_items in items.items()}

    monkeypatch.setattr(run, "_answers", answers)
    monkeypatch.setattr(run, "make_judge", lambda cfg, base_model: StandInJudge())
    rows = run.judge_experiment(exp, out, tmp_path / "cache", None)
    return rows, out, set(lengths)


def partners(out: Path, arm: str) -> dict[str, str]:
    """Language -> the partner named in the arm's pairwise predictions."""
    records = [json.loads(line) for line in (out / arm / "judge" / "predictions.jsonl").read_text().splitlines()]
    return {r["language"]: r["partner"] for r in records if r["task"] == "judge_pairwise"}


MONOLINGUAL_ZH = {
    "english_only": {"recipe": "monolingual", "source": "alpaca_en", "n_examples": 40},
    "zh_only": {"recipe": "monolingual", "source": "alpaca_zh", "n_examples": 40},
}


def test_partner_is_found_by_language_not_by_exact_tag(tmp_path, monkeypatch):
    """The data manifest says zh, the evaluation language is zh-CN (NTREX's tag): the same language."""
    manifests = {"english_only": {"en->en": 40}, "zh_only": {"zh->zh": 40}}
    _, out, _ = judged(tmp_path, monkeypatch, ["en", "zh-CN"], MONOLINGUAL_ZH, manifests, modes=["pairwise"])
    assert partners(out, "english_only") == {"zh-CN": "zh_only"}  # was the first arm, english_only: itself
    assert partners(out, "zh_only") == {"en": "english_only"}


PINCH_ARMS = {  # the first arm is monolingual in no language; the monolingual ones come later
    "mixed": {"recipe": "pinch", "source": "alpaca_en", "n_examples": 40, "share": 0.25, "languages": ["zh", "de"]},
    "english_only": {"recipe": "monolingual", "source": "alpaca_en", "n_examples": 40},
    "zh_only": {"recipe": "pinch", "source": "alpaca_en", "n_examples": 40, "share": 1.0, "languages": ["zh"]},
}
PINCH_MANIFESTS = {
    "mixed": {"de->de": 5, "en->en": 30, "zh->zh": 5},
    "english_only": {"en->en": 40},
    "zh_only": {"zh->zh": 40},  # pinch with share 1.0: monolingual in zh by its data, whatever the recipe's name
}


def test_monolingual_partner_by_data_manifest_not_recipe_name(tmp_path, monkeypatch):
    _, out, _ = judged(tmp_path, monkeypatch, ["en", "zh", "de"], PINCH_ARMS, PINCH_MANIFESTS, modes=["pairwise"])
    assert partners(out, "mixed") == {"en": "english_only", "zh": "zh_only"}  # zh was: the first arm, itself
    assert partners(out, "english_only") == {"zh": "zh_only", "de": "mixed"}


def test_partner_when_the_monolingual_arm_is_not_the_first_arm(tmp_path, monkeypatch):
    _, out, _ = judged(tmp_path, monkeypatch, ["en", "zh", "de"], PINCH_ARMS, PINCH_MANIFESTS, modes=["pairwise"])
    assert partners(out, "zh_only")["en"] == "english_only"  # english_only is the second arm
    assert partners(out, "english_only")["zh"] == "zh_only"  # zh_only is the third
    rows = read_rows(out / "mixed" / "judge" / "metrics.csv")
    assert {(r["language"], r["metric"]) for r in rows} >= {("en", "score"), ("zh", "score")}
    assert not any(r["language"] == "de" for r in rows)  # de: the fallback is mixed itself, no self-comparison


def test_fallback_partner_is_warned_and_recorded(tmp_path, monkeypatch, capsys):
    _, out, _ = judged(tmp_path, monkeypatch, ["en", "zh", "de"], PINCH_ARMS, PINCH_MANIFESTS, modes=["pairwise"])
    err = capsys.readouterr().err
    warnings = [line for line in err.splitlines() if line.startswith("warning:")]
    assert "de" in err and "mixed" in err and "monolingual" in err  # no silent fallback
    assert len(warnings) == 1 and " de" in warnings[0]  # the fallback in de only: none for en or zh
    for arm in PINCH_ARMS:
        manifest = json.loads((out / arm / "judge" / "manifest.json").read_text())
        assert manifest["pairwise_against"] == "auto"
        assert manifest["partners"] == {
            "en": {"arm": "english_only", "how": "monolingual"},
            "zh": {"arm": "zh_only", "how": "monolingual"},
            "de": {"arm": "mixed", "how": "fallback"},
        }


def test_configured_partner_is_recorded_without_warning(tmp_path, monkeypatch, capsys):
    _, out, _ = judged(tmp_path, monkeypatch, ["en", "de"], PINCH_ARMS, PINCH_MANIFESTS, modes=["pairwise"],
                       pairwise_against="english_only")  # fmt: skip
    assert "warning" not in capsys.readouterr().err
    manifest = json.loads((out / "zh_only" / "judge" / "manifest.json").read_text())
    assert manifest["partners"]["de"] == {"arm": "english_only", "how": "configured"}
    assert partners(out, "zh_only") == {"en": "english_only", "de": "english_only"}


def test_answers_are_512_tokens_by_default(tmp_path, monkeypatch):
    field = JudgeConfig.model_fields["max_new_tokens"]
    assert field.default == 512 and "answers" in field.description  # and says what it is for
    assert JudgeConfig(model="m").max_new_tokens == 512
    _, _, lengths = judged(tmp_path, monkeypatch, ["en"], MONOLINGUAL_ZH, {}, modes=["rubric"])
    assert lengths == {512}


@pytest.mark.parametrize("mode", ["rubric", "pairwise"])
def test_n_counts_the_valid_verdicts_the_value_averages(tmp_path, monkeypatch, mode):
    """One prompt of four never gets a valid verdict: the means average 3 verdicts, so their n is 3;
    judge_failures is a share of all 4 prompts, so its n is 4."""
    rows, out, _ = judged(tmp_path, monkeypatch, ["en", "zh"], MONOLINGUAL_ZH,
                          {"english_only": {"en->en": 40}, "zh_only": {"zh->zh": 40}}, modes=[mode])  # fmt: skip
    arm = "zh_only"
    task, metric = ("judge_rubric", "rubric_mean") if mode == "rubric" else ("judge_pairwise", "score")
    got = {(r["language"], r["metric"]): r for r in read_rows(out / arm / "judge" / "metrics.csv") if r["task"] == task}
    assert got[("en", metric)]["n"] == "3" and got[("en", "judge_failures")]["n"] == "4"
    assert float(got[("en", "judge_failures")]["value"]) == 0.25
    own_n = ("judge_failures", "lpr", "language_agreement")  # measured on every answer, not on the verdicts
    assert {r["n"] for r in rows[arm] if r["metric"] not in own_n} == {3}


def test_judged_language_has_a_measured_counterpart_and_agreement(tmp_path, monkeypatch):
    """The stand-in arms answer in plain English (one line of 5+ tokens) and the stand-in judge always scores
    language 5/5: in en the line check passes and agrees; in de it fails and disagrees."""
    english = "The river flows slowly through the old town and into the sea."
    rows, out, _ = judged(tmp_path, monkeypatch, ["en", "de"], MONOLINGUAL_ZH, {}, modes=["rubric"],
                          answer_text=lambda arm, item: english)  # fmt: skip
    got = {(r["language"], r["metric"]): r for r in read_rows(out / "zh_only" / "judge" / "metrics.csv")}
    assert float(got[("en", "lpr")]["value"]) == 1.0 and got[("en", "lpr")]["n"] == "4"
    assert float(got[("de", "lpr")]["value"]) == 0.0
    assert float(got[("en", "language_agreement")]["value"]) == 1.0 and got[("en", "language_agreement")]["n"] == "3"
    assert float(got[("de", "language_agreement")]["value"]) == 0.0  # the judge says German, the lines are English
    records = [json.loads(x) for x in (out / "zh_only" / "judge" / "predictions.jsonl").read_text().splitlines()]
    assert {r["scores"].get("lpr") for r in records if r["language"] == "de"} == {0.0}

    from xinstruct.report.build import make_report

    make_report(out, title="judged")
    md = (out / "report.md").read_text()
    assert "## Judged language vs measured LPR" in md
    assert "| zh_only | de | 100.0 [100.0, 100.0] | 0.0 [0.0, 0.0] | 0.0 [0.0, 0.0] |" in md
    assert "Judged language vs measured LPR" in (out / "report.html").read_text()

"""lcb tasks (Language Confusion Benchmark test sets) and `xinstruct confusion`.

Expected values are worked out by hand from the benchmark's compute_metrics.py logic (for-ai/language-confusion
@ 0cfdbb4a): LPR/WPR/acc per (source, language), means over sources per language; see
xinstruct.metrics.language_confusion.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict

import pytest
from typer.testing import CliRunner

from tests.conftest import SHARED_DATA
from xinstruct.evaluate.tasks import TASKS
from xinstruct.evaluate.tasks.common import TaskContext
from xinstruct.evaluate.tasks.lcb import LCB_TASKS, SOURCES

TEST_SETS = SHARED_DATA / "language_confusion" / "test_sets"
needs_test_sets = pytest.mark.skipif(
    not TEST_SETS.exists(), reason=f"the benchmark's test sets (test_sets.zip, unpacked) are not at {TEST_SETS}"
)
needs_words = pytest.mark.skipif(
    not (SHARED_DATA / "language_confusion" / "words").exists(), reason="the benchmark's English word list is absent"
)
CTX = TaskContext(data_dir=str(SHARED_DATA))

FR = "Le chat dort sur le canapé depuis ce matin."  # lid.176.ftz: fr 0.999
EN = "The cat has been sleeping on the sofa since this morning."  # en 0.99
RU = "Кошка спит на диване с самого утра и не просыпается."  # ru 0.96
RU_COMPUTER = "Мы купили новый computer для нашей большой семьи вчера."  # ru 0.99, "computer": an English word


class MarkerLid:
    """A fake fastText model: a line's first word is its language (probability 0.9)."""

    def predict(self, text: str, k: int = 1, threshold: float = 0.0):
        return (f"__label__{text.split()[0]}",), (0.9,)


def test_tasks_are_registered_generative_with_the_papers_budget():
    assert {"lcb_monolingual", "lcb_crosslingual", "lcb_monolingual_native", "lcb_crosslingual_sharegpt"} <= set(TASKS)
    assert len(LCB_TASKS) == 2 + 4 + 3
    for task in LCB_TASKS.values():
        assert task.kind == "generation" and task.max_new_tokens == 100 and not task.fidelity
    assert len(TASKS["lcb_monolingual"].languages) == 15 and "en" not in TASKS["lcb_crosslingual"].languages
    assert TASKS["lcb_monolingual_native"].languages == ("es", "fr", "ja", "ko")


def test_experiments_accept_lcb_tasks():
    from xinstruct.config import EvalConfig

    assert EvalConfig(tasks=["lcb_monolingual", "lcb_crosslingual_okapi"]).tasks[1] == "lcb_crosslingual_okapi"


@needs_test_sets
def test_source_languages_are_the_files():
    for setting, sources in SOURCES.items():
        for source, languages in sources.items():
            assert tuple(sorted(p.stem for p in (TEST_SETS / setting / source).glob("*.csv"))) == languages


@needs_test_sets
@pytest.mark.parametrize(
    ("task", "lang", "n"),
    [
        ("lcb_monolingual", "fr", 300),  # dolly + native + okapi, 100 each
        ("lcb_monolingual", "en", 200),  # aya + okapi
        ("lcb_monolingual", "ko", 100),  # native only
        ("lcb_crosslingual", "ja", 299),  # complex_prompts 99 + okapi 100 + sharegpt 100
        ("lcb_crosslingual_complex_prompts", "hi", 99),
        ("lcb_monolingual_dolly", "ru", 100),
    ],
)
def test_tasks_load_the_real_test_sets(task, lang, n):
    rows = TASKS[task].load(CTX, lang)
    assert len(rows) == n and len({row["id"] for row in rows}) == n
    assert all(row["messages"] == [{"role": "user", "content": row["prompt"]}] for row in rows)


@needs_test_sets
def test_every_prompt_of_each_setting_loads():
    # 24 monolingual files of 100; 42 cross-lingual files, complex_prompts with 99
    for name, total in (("lcb_monolingual", 2400), ("lcb_crosslingual", 14 * (99 + 100 + 100))):
        task = TASKS[name]
        assert sum(len(task.load(CTX, lang)) for lang in task.languages) == total
    first = TASKS["lcb_monolingual"].load(CTX, "zh")[0]
    assert first["id"] == "lcb-monolingual-aya-zh-000" and first["source"] == "aya_human_annotated"


@needs_test_sets
def test_limit_takes_the_first_examples_of_each_source():
    rows = TASKS["lcb_monolingual"].load(TaskContext(data_dir=str(SHARED_DATA), limit=2), "fr")
    assert [row["id"] for row in rows] == [
        f"lcb-monolingual-{source}-fr-{i:03d}" for source in ("dolly", "native", "okapi") for i in range(2)
    ]


@needs_words
def test_per_example_scores_average_to_the_reported_values(monkeypatch):
    from xinstruct.evaluate import runner
    from xinstruct.evaluate.tasks import lcb

    monkeypatch.setattr(lcb, "lid_model_for", lambda spec=None: MarkerLid())
    ok, word, short = "ru один два три четыре", "ru один два computer три", "ru слишком коротко"
    mixed = ok + "\nfr un deux trois quatre"
    cases = [("a", ok), ("a", word), ("a", "fr un deux trois quatre"), ("a", short), ("b", mixed)]
    cases += [("c", short), ("c", short)]
    rows = [{"id": str(i), "source": source} for i, (source, _) in enumerate(cases)]
    metrics, details = lcb.LCB().score(CTX, "ru", rows, [text for _, text in cases])
    # a: 3 non-skipped (the short one is skipped): 1 line error, 1 word error among the 2 others
    #    lpr 1 - 1/3 = 2/3; wpr 1 - 1/(3 - 1) = 1/2; acc (1 + 1 + 0)/3 = 2/3
    # b: 1 completion, 1 of its 2 lines wrong: lpr 0; acc 1/2; wpr 1 - 0/max(1, 0) = 1 (vacuous)
    # c: all skipped: everything 1 (vacuous)
    # reported: the mean over sources, as the script's ("all", "ru") row
    assert metrics == pytest.approx({"acc": (2 / 3 + 0.5 + 1) / 3, "lpr": (2 / 3 + 0 + 1) / 3, "wpr": 2.5 / 3})
    # lpr carriers: a's 3 non-skipped (weight 6/(3*3)), b's one (6/(3*1)), c's two vacuous 1.0s (6/(3*2))
    lpr = {row["id"]: d.get("lpr") for row, d in zip(rows, details, strict=True)}
    assert lpr == pytest.approx({"0": 2 / 3, "1": 2 / 3, "2": 0.0, "3": None, "4": 0.0, "5": 1.0, "6": 1.0})
    assert [d["line_pass"] for d in details] == [1.0, 1.0, 0.0, None, 0.0, None, None]  # unweighted, as counted
    scores = [runner.example_scores(metrics, d) for d in details]
    for metric, value in metrics.items():
        values = [s[metric] for s in scores if metric in s]
        assert sum(values) / len(values) == pytest.approx(value), metric
    # one source: weights are exactly 1, scores are the 0/1 counts
    single = lcb.LCB_TASKS["lcb_monolingual_dolly"]
    metrics, details = single.score(CTX, "ru", rows[:4], [text for _, text in cases[:4]])
    assert metrics == pytest.approx({"acc": 2 / 3, "lpr": 2 / 3, "wpr": 0.5})
    assert [d.get("lpr") for d in details] == [1.0, 1.0, 0.0, None]
    assert [d.get("wpr") for d in details] == [1.0, 0.0, None, None]


@needs_test_sets
@needs_words
def test_tiny_model_runs_lcb_through_standalone_eval(tiny_lab_model, tmp_path):
    from xinstruct.cli import app

    out = tmp_path / "eval"
    args = ["eval", "--model", str(tiny_lab_model), "--out", str(out), "--data-dir", str(SHARED_DATA)]
    args += ["--tasks", "lcb_monolingual,lcb_crosslingual_okapi", "--languages", "fr,ja", "--limit", "2"]
    args += ["--batch-size", "4"]  # lcb generates its own 100 new tokens at most
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(open(out / "results.csv", encoding="utf-8")))
    got = {(r["task"], r["language"], r["metric"]): float(r["value"]) for r in rows}
    assert {("lcb_monolingual", "fr", "lpr"), ("lcb_monolingual", "ja", "wpr")} <= set(got)
    assert ("lcb_crosslingual_okapi", "ja", "wpr") in got and ("lcb_monolingual", "fr", "wpr") not in got
    predictions = [json.loads(line) for line in open(out / "predictions.jsonl", encoding="utf-8")]
    count = defaultdict(int)
    per_example = defaultdict(list)
    for p in predictions:
        count[(p["task"], p["language"])] += 1
        for metric, value in p["scores"].items():
            per_example[(p["task"], p["language"], metric)].append(value)
    # limit 2 per source: fr has dolly, native and okapi; ja only native
    assert dict(count) == {
        ("lcb_monolingual", "fr"): 6,
        ("lcb_monolingual", "ja"): 2,
        ("lcb_crosslingual_okapi", "fr"): 2,
        ("lcb_crosslingual_okapi", "ja"): 2,
    }
    assert {cell[:2] for cell in per_example if cell[2] == "lpr"} == set(count)  # every cell has scores
    for cell, values in per_example.items():  # what the report bootstraps averages to what it reports
        assert sum(values) / len(values) == pytest.approx(got[cell], abs=1e-6), cell


def write_outputs(path, rows, header=("model", "completion", "task", "source", "language")):
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)


@needs_words
def test_confusion_command_prints_the_scripts_table_and_writes_tidy_csv(tmp_path):
    from xinstruct.cli import app

    path, tidy = tmp_path / "outputs.csv", tmp_path / "scores" / "tidy.csv"
    write_outputs(
        path,
        [
            ("m", FR, "monolingual", "okapi", "fr"),
            ("m", f"{FR}\n{EN}", "monolingual", "okapi", "fr"),  # a line error
            ("m", RU, "monolingual", "dolly", "ru"),
            ("m", RU_COMPUTER, "monolingual", "dolly", "ru"),  # a word error
            ("m", "Oui.", "monolingual", "dolly", "fr"),  # skipped: (dolly, fr) is a vacuous 100%
        ],
    )
    result = CliRunner().invoke(app, ["confusion", str(path), "--out", str(tidy), "--data-dir", str(SHARED_DATA)])
    assert result.exit_code == 0, result.output
    # (dolly, fr) lpr 1; (dolly, ru) lpr 1, wpr 1/2; (okapi, fr) lpr 1/2
    # (dolly, all) lpr 1, wpr 1/2; (okapi, all) lpr 1/2; (all, fr) (1 + 1/2)/2; (all, ru) 1, wpr 1/2
    # (all, all): mean of the per-language means: lpr (3/4 + 1)/2 = 7/8, wpr 1/2
    table = [
        [cell.strip() for cell in line.split("│")[1:-1]] for line in result.output.splitlines() if line.count("│") == 7
    ]
    assert table == [
        ["monolingual", "m", "dolly", "fr", "100.00%", "N/A"],
        ["monolingual", "m", "dolly", "ru", "100.00%", "50.00%"],
        ["monolingual", "m", "okapi", "fr", "50.00%", "N/A"],
        ["monolingual", "m", "dolly", "all", "100.00%", "50.00%"],
        ["monolingual", "m", "okapi", "all", "50.00%", "N/A"],
        ["monolingual", "m", "all", "fr", "75.00%", "N/A"],
        ["monolingual", "m", "all", "ru", "100.00%", "50.00%"],
        ["monolingual", "m", "all", "all", "87.50%", "50.00%"],
    ]
    scores = {
        (r["source"], r["language"], r["metric"]): (float(r["value"]), int(r["n"]))
        for r in csv.DictReader(open(tidy, encoding="utf-8"))
    }
    assert scores[("okapi", "fr", "acc")] == (0.75, 2)  # (1 + 1/2)/2: the second completion has 1 of 2 lines right
    assert scores[("all", "all", "lpr")] == (0.875, 5) and scores[("all", "fr", "lpr")] == (0.75, 3)


def test_confusion_command_bad_input_is_one_message_and_exit_2(tmp_path):
    from xinstruct.cli import app

    def run(path):
        result = CliRunner().invoke(app, ["confusion", str(path)])
        assert result.exit_code == 2 and "Traceback" not in result.output, result.output
        return " ".join(result.output.split())

    missing = tmp_path / "nope.csv"
    assert f"{missing}: no such file" in run(missing)
    no_language = tmp_path / "no_language.csv"
    write_outputs(no_language, [("m", FR, "monolingual", "okapi")], header=("model", "completion", "task", "source"))
    assert f"{no_language}:1: missing column(s) language" in run(no_language)
    unknown = tmp_path / "unknown.csv"
    # the first record spans lines 2-3 (a two-line completion): the bad one starts on line 4
    rows = [("m", f"{FR}\n{FR}", "monolingual", "okapi", "fr"), ("m", FR, "monolingual", "okapi", "xx")]
    write_outputs(unknown, rows)
    assert f"{unknown}:4: column 'language': unknown language 'xx'" in run(unknown)
    short = tmp_path / "short.csv"
    short.write_text("model,completion,task,source,language\nm,text,monolingual\n", encoding="utf-8")
    assert f"{short}:2: column 'source' missing" in run(short)

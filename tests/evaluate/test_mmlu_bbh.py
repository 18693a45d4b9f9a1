"""Translated MMLU (Global-MMLU, Okapi m_mmlu) and BIG-Bench Hard: prompts as lm-eval's, answers as its filters.

MMLU has no data on the team's machine: its loaders are tested on small fixtures in the two official
layouts, written here. BBH runs on the paper's English files in ../shared/data/bbh (skipped without them)
and on a translated-layout fixture. The expected strings are written out by hand from
lm-evaluation-harness @ 4e7e0d47 (tasks/global_mmlu/full/*/_*_template_yaml, tasks/okapi/mmlu_multilingual/
_default_yaml, tasks/bbh/{cot_fewshot,zeroshot}/*.yaml and zeroshot/utils.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import SHARED_DATA
from xinstruct.errors import DataError
from xinstruct.evaluate.tasks.bbh import (
    BBH,
    COT_FEWSHOT_STOP,
    INVALID,
    LETTERED,
    SUBTASKS,
    ZEROSHOT_STOP,
    bbh,
    bbh_zeroshot,
    cot_answer,
    flexible_answer,
    words_to_number,
)
from xinstruct.evaluate.tasks.common import TaskContext
from xinstruct.evaluate.tasks.mmlu import GlobalMMLU, OkapiMMLU, m_mmlu, mmlu

BBH_DATA = SHARED_DATA / "bbh"
needs_bbh = pytest.mark.skipif(not BBH_DATA.exists(), reason=f"BBH data not found at {BBH_DATA}")

# -- MMLU fixtures in the official layouts ------------------------------------------------------------------


def global_doc(sample_id, subject, question, options, answer, label="CA"):
    doc = {"sample_id": sample_id, "subject": subject, "subject_category": "STEM", "question": question}
    doc.update({f"option_{k}": o for k, o in zip("abcd", options, strict=True)})
    doc.update({"answer": answer, "required_knowledge": "[]", "time_sensitive": "[]", "reference": "[]"})
    doc.update({"culture": "[]", "region": "[]", "country": "[]", "cultural_sensitivity_label": label})
    return {**doc, "is_annotated": label != "-"}


GLOBAL_DOCS = {
    "de": [
        global_doc(
            "abstract_algebra/test/0",
            "abstract_algebra",
            " Welche Zahl ist eine Primzahl? \n",
            ["4", "6", "7", "9"],
            "C",
        ),
        global_doc(
            "high_school_biology/test/1",
            "high_school_biology",
            "Was ist DNA?",
            ["Ein Zucker", "Erbgut", "Fett", "Salz"],
            "B",
        ),
    ],
    "sw": [global_doc("anatomy/test/0", "anatomy", "Moyo una vyumba vingapi?", ["2", "3", "4", "5"], "C", "-")],
}
OKAPI_DOCS = [
    {
        "id": "de-0",
        "instruction": "  Finde den Grad der Körpererweiterung.\n",
        "option_a": "0",
        "option_b": "4",
        "option_c": "2",
        "option_d": "6",
        "answer": "B",
    },
    {
        "id": "de-1",
        "instruction": "Was ist 2 + 2?",
        "option_a": "3",
        "option_b": "4",
        "option_c": "5",
        "option_d": "22",
        "answer": "B",
    },
]


@pytest.fixture
def mmlu_data(tmp_path) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    for lang in ("de", "en"):  # Global-MMLU: the hub repository's parquet shards
        folder = tmp_path / "mmlu" / "Global-MMLU" / lang
        folder.mkdir(parents=True)
        docs = (
            GLOBAL_DOCS["de"]
            if lang == "de"
            else [{**d, "question": "Which number is prime?"} for d in GLOBAL_DOCS["de"]]
        )
        pq.write_table(pa.Table.from_pylist(docs), folder / "test-00000-of-00001.parquet")
        pq.write_table(pa.Table.from_pylist(docs[:1]), folder / "dev-00000-of-00001.parquet")
    sw = tmp_path / "mmlu" / "Global-MMLU" / "sw"  # or a CSV export with the same columns
    sw.mkdir()
    import csv

    with open(sw / "test.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(GLOBAL_DOCS["sw"][0]))
        writer.writeheader()
        writer.writerows(GLOBAL_DOCS["sw"])
    okapi = tmp_path / "mmlu" / "m_mmlu"  # Okapi: datasets/m_mmlu/<lang>_<split>.json
    okapi.mkdir()
    (okapi / "de_test.json").write_text(json.dumps(OKAPI_DOCS, ensure_ascii=False), encoding="utf-8")
    (okapi / "en_test.json").write_text(json.dumps([{**OKAPI_DOCS[1], "id": "en-1"}]), encoding="utf-8")
    (okapi / "de_dev.json").write_text(json.dumps(OKAPI_DOCS[:1], ensure_ascii=False), encoding="utf-8")
    return tmp_path


def ctx(root: Path, **kw) -> TaskContext:
    return TaskContext(data_dir=str(root), **kw)


def test_global_mmlu_rows_are_lm_evals(mmlu_data):
    rows = mmlu.load(ctx(mmlu_data), "de")
    assert [(r["id"], r["gold"]) for r in rows] == [("abstract_algebra/test/0", 2), ("high_school_biology/test/1", 1)]
    assert rows[0]["context"] == "Welche Zahl ist eine Primzahl?\nA. 4\nB. 6\nC. 7\nD. 9\nAnswer:"
    assert all(r["choices"] == ["A", "B", "C", "D"] for r in rows)  # scored as " A".." D" (target delimiter " ")
    assert mmlu.kind == "multiple_choice" and mmlu.metrics == ("acc",) and mmlu.prompt_field == "context"
    assert GlobalMMLU(split="dev").load(ctx(mmlu_data), "de")[0]["id"] == "abstract_algebra/test/0"
    assert mmlu.load(ctx(mmlu_data, limit=1), "de") == rows[:1]
    sw = mmlu.load(ctx(mmlu_data), "sw")  # the CSV export
    assert sw == [{"id": "anatomy/test/0", "context": "Moyo una vyumba vingapi?\nA. 2\nB. 3\nC. 4\nD. 5\nAnswer:",
                   "choices": ["A", "B", "C", "D"], "gold": 2}]  # fmt: skip
    # lm-eval's English mmlu description, on request
    header = GlobalMMLU(subject_header=True).load(ctx(mmlu_data), "de")[1]["context"]
    assert header.startswith(
        "The following are multiple choice questions (with answers) about high school biology.\n\n"
    )
    assert header.endswith("\n\nWas ist DNA?\nA. Ein Zucker\nB. Erbgut\nC. Fett\nD. Salz\nAnswer:")


def test_okapi_m_mmlu_rows_are_lm_evals(mmlu_data):
    rows = m_mmlu.load(ctx(mmlu_data), "de")
    assert [(r["id"], r["gold"]) for r in rows] == [("de-0", 1), ("de-1", 1)]
    assert rows[0]["context"] == "Finde den Grad der Körpererweiterung.\nA. 0\nB. 4\nC. 2\nD. 6\nAnswer:"
    assert rows[1]["choices"] == ["A", "B", "C", "D"] and m_mmlu.metrics == ("acc",)
    assert len(OkapiMMLU(split="dev").load(ctx(mmlu_data), "de")) == 1


def test_mmlu_languages_and_errors(mmlu_data, tmp_path):
    assert len(mmlu.languages) == 42 and len(m_mmlu.languages) == 34
    assert {"fil", "yo", "zh", "en"} <= set(mmlu.languages) and {"ca", "eu", "nb", "en"} <= set(m_mmlu.languages)
    with pytest.raises(DataError, match="has no language 'xx'"):
        mmlu.load(ctx(mmlu_data), "xx")
    with pytest.raises(DataError, match=r"m_mmlu/fr_test\.json: no such file"):
        OkapiMMLU(hub=None).load(ctx(mmlu_data), "fr")
    with pytest.raises(DataError, match=r"Global-MMLU/fr: no such file"):
        GlobalMMLU(hub=None).load(ctx(mmlu_data), "fr")
    bad = mmlu_data / "mmlu" / "m_mmlu" / "hu_test.json"
    bad.write_text(json.dumps([{**OKAPI_DOCS[0], "answer": "E"}]), encoding="utf-8")
    with pytest.raises(DataError, match=r"hu_test\.json: question de-0 has answer 'E'"):
        m_mmlu.load(ctx(mmlu_data), "hu")
    bad.write_text(json.dumps([{"id": "x", "instruction": "Q?", "answer": "A"}]), encoding="utf-8")
    with pytest.raises(DataError, match=r"hu_test\.json: question x has no \['option_a'"):
        m_mmlu.load(ctx(mmlu_data), "hu")
    bad.write_text("[{", encoding="utf-8")
    with pytest.raises(DataError, match=r"hu_test\.json: not JSON"):
        m_mmlu.load(ctx(mmlu_data), "hu")
    empty = mmlu_data / "mmlu" / "Global-MMLU" / "ja"
    empty.mkdir()
    with pytest.raises(DataError, match=r"Global-MMLU/ja: no test\*\.parquet or test\*\.csv"):
        mmlu.load(ctx(mmlu_data), "ja")
    # ids repeated in a file: numbered by position instead (one prediction per id)
    (mmlu_data / "mmlu" / "m_mmlu" / "it_test.json").write_text(json.dumps([OKAPI_DOCS[0]] * 2), encoding="utf-8")
    assert [r["id"] for r in m_mmlu.load(ctx(mmlu_data), "it")] == ["0:de-0", "1:de-0"]


def test_mmlu_hub_when_the_local_files_are_absent(monkeypatch, tmp_path):
    import datasets

    calls = []
    hub = {"CohereForAI/Global-MMLU": GLOBAL_DOCS["sw"], "alexandrainst/m_mmlu": OKAPI_DOCS}

    def load_dataset(path, name, split):
        calls.append((path, name, split))
        if name == "ko":
            raise ConnectionError("offline")
        return hub[path]

    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    assert mmlu.load(ctx(tmp_path), "sw")[0]["context"].startswith("Moyo una vyumba vingapi?\nA. 2")
    assert m_mmlu.load(ctx(tmp_path), "de")[1]["id"] == "de-1"
    assert calls == [("CohereForAI/Global-MMLU", "sw", "test"), ("alexandrainst/m_mmlu", "de", "test")]
    with pytest.raises(DataError, match=r"Global-MMLU/ko: no such file .* CohereForAI/Global-MMLU \(ko, test\)"):
        mmlu.load(ctx(tmp_path), "ko")


# -- BBH on the paper's files ---------------------------------------------------------------------------------


@needs_bbh
def test_bbh_loads_the_paper_files():
    rows = bbh.load(TaskContext(data_dir=str(SHARED_DATA)), "en")
    assert len(rows) == 6511 and len({r["id"] for r in rows}) == 6511
    assert sorted({r["subtask"] for r in rows}) == sorted(SUBTASKS) and len(SUBTASKS) == 27
    date = next(r for r in rows if r["id"] == "date_understanding/000")
    text = date["messages"][0]["content"]
    assert text.startswith("Infer the date from context.\n\nQ: Today is Christmas Eve of 1937.")
    assert "So the answer is (D).\n\nQ: Tomorrow is 11/12/2019." in text  # the paper's three examples
    assert text.endswith(f"So the answer is (B).\n\nQ: {date['question']}\nA: Let's think step by step.\n")
    assert "canary" not in text and "-----" not in text and date["answer"] == "(B)"
    assert date["question"].startswith("Today is Christmas Eve of 1937. What is the date tomorrow")
    counts = {s: sum(r["subtask"] == s for r in rows) for s in SUBTASKS}
    assert counts["causal_judgement"] == 187 and counts["penguins_in_a_table"] == 146 and counts["snarks"] == 178
    assert bbh.stop == COT_FEWSHOT_STOP == ("</s>", "Q", "\n\n") and bbh.max_new_tokens == 1024
    assert bbh.kind == "generation" and bbh.prompt_field == "question"

    zero = bbh_zeroshot.load(TaskContext(data_dir=str(SHARED_DATA), limit=2), "en")
    assert len(zero) == 54 and [r["id"] for r in zero[:3]] == [
        "boolean_expressions/000",
        "boolean_expressions/001",
        "causal_judgement/000",
    ]
    assert zero[0]["messages"][0]["content"] == (
        "Evaluate the result of a random Boolean expression.\n\nQ: not ( True ) and ( True ) is\nA:"
    )
    assert bbh_zeroshot.stop == ZEROSHOT_STOP == ("</s>", "Q:", "<|im_end|>") and bbh_zeroshot.max_new_tokens == 256
    for subtask in SUBTASKS:  # the zero-shot description: the prompt file up to its first example (lm-eval's)
        body = (BBH_DATA / "cot-prompts" / f"{subtask}.txt").read_text(encoding="utf-8").split("-----\n", 1)[1]
        first = next(r for r in zero if r["subtask"] == subtask)["messages"][0]["content"]
        assert first.startswith(body.split("\n\nQ:")[0] + "\n\nQ: ")


# -- answer extraction -----------------------------------------------------------------------------------------


def test_cot_answer_is_lm_evals_get_answer():
    assert cot_answer("The date is 12/14/1937. So the answer is (B).") == "(B)"
    assert cot_answer("Z = True. So the answer is True.\nMore text") == "True"
    assert cot_answer("8 + 16 = 24. So the answer is 24.") == "24"
    assert cot_answer("So the answer is } ] >.") == "} ] >"
    assert cot_answer("the answer is 24") == "2"  # lm-eval's (?=.) drops the last character, period or not
    assert cot_answer("The answer is (B).") == INVALID  # case-sensitive, as lm-eval
    assert cot_answer("so the answer is (A). Then the answer is (C).") == "(A). Then the answer is (C)"


def test_flexible_extraction_is_lm_evals():
    q = "Which is first?\nOptions:\n(A) Apple pie\n(B) Banana split\n(C) Cherry tart"
    assert flexible_answer("date_understanding", "I'd say (B), not (C).", q) == "(B)"
    assert flexible_answer("date_understanding", "I'd say (B), not (C).", q, last=True) == "(C)"
    assert flexible_answer("date_understanding", "Definitely the banana split!", q) == "(B)"  # an option's text
    assert flexible_answer("date_understanding", "Answer: C", q) == "(C)"
    assert flexible_answer("date_understanding", "No idea", q) == INVALID
    assert len(LETTERED) == 17 and "snarks" in LETTERED and "navigate" not in LETTERED
    assert flexible_answer("boolean_expressions", "It is False, not True", "") == "False"
    assert flexible_answer("boolean_expressions", "It is False, not True", "", last=True) == "True"
    assert flexible_answer("causal_judgement", "No. The machine...", "") == "No"
    assert flexible_answer("navigate", "yes, you return", "") == "yes"
    assert flexible_answer("formal_fallacies", "The argument is invalid.", "") == "invalid"
    assert flexible_answer("sports_understanding", "This is not plausible.", "") == "no"
    assert flexible_answer("sports_understanding", "Plausible", "") == "yes"
    assert flexible_answer("web_of_lies", "So Jim tells the truth.", "") == "yes"
    assert flexible_answer("web_of_lies", "Yes, but Ka is not telling the truth", "", last=True) == "no"
    assert flexible_answer("object_counting", "I count 7 objects, not 8", "") == "7"
    assert flexible_answer("object_counting", "I count 7 objects, not 8", "", last=True) == "8"
    assert flexible_answer("multistep_arithmetic_two", "The result is -219.", "") == "-219"
    assert flexible_answer("object_counting", "You have eleven instruments.", "") == "11"
    assert flexible_answer("object_counting", "twenty one fruits", "") == "21"
    assert flexible_answer("object_counting", "twenty-one fruits", "") == "-"  # lm-eval's [-0-9]+ takes the hyphen
    assert flexible_answer("object_counting", "none at all", "") == INVALID
    assert words_to_number("two hundred and forty-one") == 241 and words_to_number("three thousand five") == 3005
    assert flexible_answer("dyck_languages", "] ) } and more", "") == "] ) }"
    sort_q = "Sort the following words alphabetically: List: pear apple fig"
    assert flexible_answer("word_sorting", "apple fig pear", sort_q) == "apple fig pear"
    assert (
        flexible_answer("word_sorting", "pear, then apple, then fig; final: apple fig pear", sort_q) == "apple fig pear"
    )


def test_bbh_scores():
    rows = [
        {"subtask": "date_understanding", "question": "Q?\nOptions:\n(A) x\n(B) y", "answer": "(B)"},
        {"subtask": "object_counting", "question": "How many?", "answer": "24"},
        {"subtask": "web_of_lies", "question": "Does Jim tell the truth?", "answer": "Yes"},
        {"subtask": "boolean_expressions", "question": "True and False is", "answer": "False"},
    ]
    cot = ["So the answer is (B).", "So the answer is 24", "Jim tells the truth. So the answer is Yes.", "False"]
    metrics, details = bbh.score(TaskContext(), "en", rows, cot)
    assert [d["extracted"] for d in details] == ["(B)", "2", "Yes", INVALID]
    assert [d["exact_match"] for d in details] == [1.0, 0.0, 1.0, 0.0]
    assert [d["exact_match_flexible"] for d in details] == [1.0, 1.0, 1.0, 1.0]  # last match, case folded
    assert metrics == {"exact_match": 0.5, "exact_match_flexible": 1.0}
    assert details[1]["subtask"] == "object_counting"
    zero = ["(B).", "There are 24.", "yes", "False"]
    metrics, details = bbh_zeroshot.score(TaskContext(), "en", rows, zero)
    assert [d["exact_match"] for d in details] == [1.0, 0.0, 1.0, 1.0]  # final "." and case ignored, as lm-eval
    assert metrics["exact_match_flexible"] == 1.0


# -- a translation in the same layout ---------------------------------------------------------------------------


def write_translation(root: Path, lang: str, skip: str | None = None) -> None:
    for subtask in SUBTASKS:
        if subtask == skip:
            continue
        folder = root / "bbh" / lang
        (folder / "bbh").mkdir(parents=True, exist_ok=True)
        (folder / "cot-prompts").mkdir(parents=True, exist_ok=True)
        examples = [{"input": f"Frage {subtask} {i}?", "target": "(A)"} for i in range(3)]
        (folder / "bbh" / f"{subtask}.json").write_text(json.dumps({"examples": examples}), encoding="utf-8")
        prompt = (
            f"Beschreibung {subtask}.\n\nQ: Beispiel?\nA: Let's think step by step.\nAlso (A). So the answer is (A)."
        )
        (folder / "cot-prompts" / f"{subtask}.txt").write_text(prompt + "\n", encoding="utf-8")


def test_bbh_translation_layout(tmp_path):
    write_translation(tmp_path, "de")
    task = BBH(languages=("en", "de"))
    rows = task.load(ctx(tmp_path, limit=2), "de")
    assert len(rows) == 54 and rows[0]["id"] == "boolean_expressions/000" and rows[0]["answer"] == "(A)"
    assert rows[0]["messages"][0]["content"] == (
        "Beschreibung boolean_expressions.\n\nQ: Beispiel?\nA: Let's think step by step.\nAlso (A). "
        "So the answer is (A).\n\nQ: Frage boolean_expressions 0?\nA: Let's think step by step.\n"
    )
    zero = BBH(name="bbh_zeroshot", cot=False, languages=("de",)).load(ctx(tmp_path, limit=1), "de")
    assert zero[-1]["messages"][0]["content"] == "Beschreibung word_sorting.\n\nQ: Frage word_sorting 0?\nA:"
    # the registered task finds a translation in the layout: German is evaluated, French (absent) is not
    assert bbh.available_languages(ctx(tmp_path)) == ("en", "de")
    assert bbh.load(ctx(tmp_path, limit=2), "de") == rows
    with pytest.raises(DataError, match="task bbh has no language 'fr'"):
        bbh.load(ctx(tmp_path), "fr")
    from xinstruct.evaluate.tasks import evaluation_languages

    assert evaluation_languages(bbh, ["en", "de", "fr"], ctx(tmp_path)) == (["en", "de"], ["fr"])
    write_translation(tmp_path, "fr", skip="snarks")
    with pytest.raises(DataError, match=r"bbh/fr/bbh/snarks\.json: no such file for task bbh"):
        BBH(languages=("fr",)).load(ctx(tmp_path), "fr")
    (tmp_path / "bbh" / "de" / "bbh" / "navigate.json").write_text('{"examples": []}', encoding="utf-8")
    with pytest.raises(DataError, match=r"navigate\.json: expected"):
        task.load(ctx(tmp_path), "de")


# -- end to end through the runner ------------------------------------------------------------------------------


@needs_bbh
def test_runner_end_to_end(mmlu_data, tiny_lab_model, tmp_path, monkeypatch):
    from xinstruct.evaluate import runner

    (mmlu_data / "bbh").symlink_to(BBH_DATA.resolve())  # the paper's files, read in place
    # three of the 27 tasks (the shortest prompts: this model reads characters); its own length reaches the generator
    short = BBH(max_new_tokens=6, subtasks=("date_understanding", "sports_understanding", "object_counting"))
    monkeypatch.setitem(runner.TASKS, "bbh", short)
    asked = []
    real_generate = runner.generate

    def spy(model, tokenizer, prompts, max_new_tokens, *args, stop=(), **kw):
        asked.append((len(prompts), max_new_tokens, tuple(stop)))
        return real_generate(model, tokenizer, prompts, max_new_tokens, *args, stop=stop, **kw)

    monkeypatch.setattr(runner, "generate", spy)
    out = tmp_path / "eval"
    out.mkdir()
    c = ctx(mmlu_data, limit=2)
    rows = runner.evaluate("arm", tiny_lab_model, c, ["mmlu", "m_mmlu", "bbh"], ["en", "de"], 4, 32, out)
    assert asked == [(6, 6, COT_FEWSHOT_STOP)]  # English only (no German BBH), `limit` examples per BBH task
    got = {(r["task"], r["language"], r["metric"]): r for r in rows}
    assert {("mmlu", "de", "acc"), ("mmlu", "en", "acc"), ("m_mmlu", "de", "acc"), ("m_mmlu", "en", "acc")} <= set(got)
    assert got[("bbh", "en", "exact_match")]["n"] == 6 and ("bbh", "de", "exact_match") not in got
    assert ("bbh", "en", "exact_match_flexible") in got and got[("mmlu", "de", "acc")]["n"] == 2
    assert all(0.0 <= r["value"] <= 1.0 for r in rows)
    predictions = [json.loads(line) for line in open(out / "predictions.jsonl", encoding="utf-8")]
    bbh_rows = [p for p in predictions if p["task"] == "bbh"]
    assert [p["id"] for p in bbh_rows[:3]] == [
        "date_understanding/000",
        "date_understanding/001",
        "sports_understanding/000",
    ]
    assert bbh_rows[0]["subtask"] == "date_understanding" and bbh_rows[0]["reference"] == "(B)"
    assert set(bbh_rows[0]["scores"]) == {"exact_match", "exact_match_flexible"}  # what the bootstrap resamples
    assert bbh_rows[0]["prompt"].endswith("A: Let's think step by step.\n") and "extracted_flexible" in bbh_rows[0]
    mc = next(p for p in predictions if p["task"] == "mmlu" and p["language"] == "de")
    assert mc["id"] == "abstract_algebra/test/0" and set(mc["scores"]) == {"acc"} and len(mc["loglikelihoods"]) == 4
    assert mc["prompt"] == "Welche Zahl ist eine Primzahl?\nA. 4\nB. 6\nC. 7\nD. 9\nAnswer:"

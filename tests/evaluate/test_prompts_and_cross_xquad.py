"""Native vs English task prompts, and Cross-XQuAD built from XQuAD (SeaEval's third consistency set)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from tests.conftest import SHARED_DATA, TINY_EXPERIMENT
from xinstruct.errors import DataError
from xinstruct.evaluate.tasks import TASKS
from xinstruct.evaluate.tasks.common import TaskContext
from xinstruct.evaluate.tasks.prompts import QA, mgsm_prompt, qa_prompt, translation_request

needs_shared = pytest.mark.skipif(not SHARED_DATA.exists(), reason=f"shared data not found at {SHARED_DATA}")
CTX = TaskContext(data_dir=str(SHARED_DATA))
NATIVE = replace(CTX, prompt_language="native")


def test_english_prompts_are_one_template_for_every_language():
    en = qa_prompt("en", "de", "CTX", "Q?", "xquad")
    assert en == qa_prompt("en", "th", "CTX", "Q?", "xquad")
    assert en == (
        "Read the passage and answer the question with a short span copied from the passage.\n\n"
        "Passage: CTX\n\nQuestion: Q?"
    )
    assert mgsm_prompt("en", "de", "2+2?") == "Question: 2+2?\nAnswer:"  # lm-eval mgsm_direct_en
    assert translation_request("en", "de") == "Translate the following text into German."


def test_native_prompts_are_in_the_evaluation_language():
    assert qa_prompt("native", "de", "CTX", "Q?", "xquad").startswith("Lies den Text") and "Frage: Q?" in qa_prompt(
        "native", "de", "CTX", "Q?", "xquad"
    )
    assert mgsm_prompt("native", "de", "2+2?") == "Frage: 2+2?\nAntwort:"  # lm-eval mgsm_direct_de
    assert mgsm_prompt("native", "ja", "2+2?") == "問題： 2+2?\nAnswer:"
    assert translation_request("native", "zh-CN") == "请将以下文本翻译成中文。"
    with pytest.raises(DataError, match="no native prompt for 'sw'"):
        qa_prompt("native", "sw", "c", "q", "xquad")


def test_native_prompts_cover_every_language_of_their_tasks():
    for name in ("xquad", "mlqa"):
        assert set(TASKS[name].languages) <= set(QA)


def test_prompt_language_is_validated_in_the_experiment_file(tmp_path):
    from xinstruct.config import load_experiment
    from xinstruct.errors import ConfigError

    path = tmp_path / "exp.yaml"
    path.write_text(TINY_EXPERIMENT, encoding="utf-8")
    assert load_experiment(path, ["eval.prompt_language=native"]).eval.prompt_language == "native"
    assert load_experiment(path).eval.prompt_language == "en"
    with pytest.raises(ConfigError, match="prompt_language"):
        load_experiment(path, ["eval.prompt_language=fr"])


@needs_shared
def test_native_prompts_reach_the_tasks():
    assert TASKS["xquad"].load(NATIVE, "ru")[0]["messages"][0]["content"].startswith("Прочитайте текст")
    assert TASKS["mgsm"].load(NATIVE, "es")[0]["messages"][0]["content"].startswith("Pregunta: ")
    assert TASKS["mgsm"].load(CTX, "es")[0]["messages"][0]["content"].startswith("Question: ")
    assert TASKS["ntrex"].load(NATIVE, "de")[0]["messages"][0]["content"].startswith("Übersetze")


@needs_shared
def test_cross_xquad_is_parallel_with_the_same_option_letters():
    task = TASKS["cross_xquad"]
    rows = {lang: task.load(CTX, lang) for lang in task.languages}
    assert task.languages == ("en", "zh", "es", "vi") and all(len(r) == 1190 for r in rows.values())
    ids = [row["id"] for row in rows["en"]]
    raw = {
        lang: {
            qa["id"]: [a["text"] for a in qa["answers"]]
            for article in json.loads((SHARED_DATA / "xquad" / f"xquad.{lang}.json").read_text(encoding="utf-8"))[
                "data"
            ]
            for p in article["paragraphs"]
            for qa in p["qas"]
        }
        for lang in task.languages
    }
    for lang, lang_rows in rows.items():
        assert [row["id"] for row in lang_rows] == ids
        for row, en_row in zip(lang_rows, rows["en"], strict=True):
            assert row["gold"] == en_row["gold"]  # same letter in every language
            assert [c[:4] for c in row["choices"]] == ["(A) ", "(B) ", "(C) ", "(D) "]
            texts = [c[4:].casefold() for c in row["choices"]]
            assert len(set(texts)) == 4  # distinct options
            assert row["choices"][row["gold"]][4:] == raw[lang][row["id"]][0].strip()  # the gold is XQuAD's answer
            assert row["context"].endswith("\nAnswer:") and row["choices"][row["gold"]] in row["context"]
    golds = [row["gold"] for row in rows["en"]]
    assert min(golds.count(k) for k in range(4)) > 250  # letters spread over A-D
    assert [r["choices"] for r in task.load(CTX, "zh")[:50]] == [r["choices"] for r in rows["zh"][:50]]  # stable


@needs_shared
def test_cross_xquad_rejects_unaligned_files(tmp_path):
    from xinstruct.evaluate.tasks.seaeval import CrossXQuAD

    for lang in ("en", "zh", "es", "vi"):
        data = json.loads((SHARED_DATA / "xquad" / f"xquad.{lang}.json").read_text(encoding="utf-8"))
        if lang == "vi":
            data["data"][0]["paragraphs"][0]["qas"][0]["id"] = "changed"
        (tmp_path / "xquad").mkdir(exist_ok=True)
        (tmp_path / "xquad" / f"xquad.{lang}.json").write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(DataError, match="xquad.vi.json: questions are not aligned"):
        CrossXQuAD().load(TaskContext(data_dir=str(tmp_path)), "en")

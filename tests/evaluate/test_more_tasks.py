"""MLQA, XNLI, PAWS-X and Belebele: loaders on tiny fixtures in the official file formats, prompts as lm-eval's.

The expected strings are written out by hand from lm-evaluation-harness @ 4e7e0d47 (tasks/xnli/xnli_*.yaml,
tasks/paws-x/paws_*.yaml + utils.py, tasks/belebele/_default_template_yaml); see SPEC-metrics.md §2 and §4.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from xinstruct.errors import DataError
from xinstruct.evaluate.tasks.belebele import Belebele, belebele, flores_code
from xinstruct.evaluate.tasks.common import TaskContext
from xinstruct.evaluate.tasks.mlqa import MLQA, mlqa
from xinstruct.evaluate.tasks.pawsx import PAWSX, pawsx
from xinstruct.evaluate.tasks.prompts import qa_prompt
from xinstruct.evaluate.tasks.xnli import XNLI, xnli

# -- fixtures in the official formats ----------------------------------------------------------------------

MLQA_DATA = {
    "en": [
        (
            "The Eiffel Tower, completed in 1889, is 330 m tall.",
            [("en-1", "When was the tower completed?", ["1889"]), ("en-2", "How tall is it?", ["330 m", "330 m tall"])],
        )
    ],
    "zh": [
        (
            "北京大学创建于1898年，初名京师大学堂。",
            [("zh-1", "北京大学创建于哪一年？", ["1898年"]), ("zh-2", "北京大学初名是什么？", ["京师大学堂"])],
        )
    ],
    "ar": [("ذهب إلى مالك الكتاب.", [("ar-1", "إلى من ذهب؟", ["مالك"])])],
}

XNLI_HEADER = (
    "language gold_label sentence1_binary_parse sentence2_binary_parse sentence1_parse sentence2_parse sentence1 "
    "sentence2 promptID pairID genre label1 label2 label3 label4 label5 sentence1_tokenized sentence2_tokenized match"
).split()
EN_PREMISE = '"Mama, I\'m home," he said.'  # a leading quote: the file is read with no quoting
XNLI_ROWS = [
    ("en", "neutral", EN_PREMISE, "He called his mom as soon as the school bus dropped him off.", "1"),
    ("en", "contradiction", EN_PREMISE, "He didn't say a word.", "2"),
    ("de", "neutral", "und er hat gesagt, Mama ich bin daheim.", "Er rief seine Mutter an, sobald er ankam.", "1"),
    ("de", "entailment", "und er hat gesagt, Mama ich bin daheim.", 'Er sagte: "Ich bin zu Hause."', "3"),
    ("zh", "entailment", "他说，妈妈，我回来了。", "他告诉妈妈他已经到家了。", "3"),
]

PAWSX_ROWS = {
    "en": [
        ("1", 'The film was n\'t released in "Europe" ( only in Japan ) ;', "It was n't released in Europe .", "1"),
        ("2", "", "An empty first sentence .", "0"),  # dropped by lm-eval's process_docs (en/de/es/fr only)
        (
            "3",
            "In 1560 , he met the English ambassador 's envoy , Nicolas Throckmorton , in Paris .",
            "In Paris , in 1560 , he met Nicolas Throckmorton , the English ambassador 's envoy .",
            "0",
        ),
    ],
    "fr": [("7", "Il est né à Paris , en France .", "Il est né en France , à Paris .", "1")],
    "zh": [
        ("1", "1975年，他在巴黎秘密会见了英国大使。", "他于1975年在巴黎秘密会见了英国大使。", "1"),
        ("2", "", "空的第一句 .", "0"),  # kept as it is: no process_docs for ja/ko/zh
    ],
}


def belebele_doc(link, number, passage, question, answers, correct):
    doc = {"link": link, "question_number": number, "flores_passage": passage, "question": question}
    doc.update({f"mc_answer{i + 1}": a for i, a in enumerate(answers)})
    return {**doc, "correct_answer_num": correct, "dialect": "x", "ds": "2023-05-03"}


EN_PASSAGE = (
    "Make sure your hand is as relaxed as possible {while} hitting all the notes correctly.\nAlso, try not to..."
)
BELEBELE_DOCS = {
    "eng_Latn": [
        belebele_doc(
            "https://en.wikibooks.org/wiki/Accordion/Right_hand",
            1,
            EN_PASSAGE,
            "  Which is not an accurate tip for playing the accordion?\n",
            ["Relax your hand", "Use more force for volume", "Hit the notes correctly", " Keep it small "],
            "2",
        ),
        belebele_doc("https://example.org/b", 2, "P2", "Q2?", ["a", "b", "c", "d"], "4"),
    ],
    "deu_Latn": [
        belebele_doc(
            "https://en.wikibooks.org/wiki/Accordion/Right_hand",
            1,
            "Achten Sie darauf, dass Ihre Hand so entspannt wie möglich ist.",
            "Welcher Tipp ist nicht zutreffend?",
            ["Entspannen", "Mehr Kraft", "Richtig treffen", "Klein halten"],
            "2",
        )
    ],
    "zho_Hans": [
        belebele_doc("https://example.org/c", 1, "手要放松。", "哪个不对？", ["放松", "用力", "准确", "小"], "1")
    ],
}


def write_tsv(path: Path, header: list[str], rows) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join("\t".join(r) for r in [header, *rows]) + "\n", encoding="utf-8")


@pytest.fixture
def data(tmp_path) -> Path:
    root = tmp_path / "data"
    for lang, paragraphs in MLQA_DATA.items():
        doc = {
            "data": [
                {
                    "title": "t",
                    "paragraphs": [
                        {
                            "context": context,
                            "qas": [
                                {
                                    "id": qid,
                                    "question": q,
                                    "answers": [{"text": g, "answer_start": context.find(g)} for g in golds],
                                }
                                for qid, q, golds in qas
                            ],
                        }
                        for context, qas in paragraphs
                    ],
                }
            ],
            "version": "1.0",
        }
        path = root / "mlqa" / "MLQA_V1" / "test" / f"test-context-{lang}-question-{lang}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    xnli_rows = []
    for lang, label, s1, s2, pair in XNLI_ROWS:
        row = dict.fromkeys(XNLI_HEADER, "")
        row.update(language=lang, gold_label=label, sentence1=s1, sentence2=s2, promptID=pair, pairID=pair)
        row.update(genre="facetoface", label1=label, match="True")
        xnli_rows.append([row[k] for k in XNLI_HEADER])
    write_tsv(root / "xnli" / "XNLI-1.0" / "xnli.dev.tsv", XNLI_HEADER, xnli_rows)
    test_record = {"language": "vi", "gold_label": "contradiction", "sentence1": "Anh ấy nói.", "sentence2": "Im lặng."}
    (root / "xnli" / "XNLI-1.0" / "xnli.test.jsonl").write_text(
        json.dumps({**test_record, "pairID": "9"}, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    for lang, rows in PAWSX_ROWS.items():
        write_tsv(root / "pawsx" / "x-final" / lang / "test_2k.tsv", ["id", "sentence1", "sentence2", "label"], rows)
    for code, docs in BELEBELE_DOCS.items():
        path = root / "belebele" / f"{code}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs), encoding="utf-8")
    return root


def ctx(root: Path, **kw) -> TaskContext:
    return TaskContext(data_dir=str(root), **kw)


# -- MLQA -------------------------------------------------------------------------------------------------


def test_mlqa_rows_and_official_scores(data):
    rows = mlqa.load(ctx(data), "en")
    context = "The Eiffel Tower, completed in 1889, is 330 m tall."
    assert [r["id"] for r in rows] == ["en-1", "en-2"]
    assert rows[1]["messages"] == [
        {"role": "user", "content": qa_prompt("en", "en", context, "How tall is it?", "mlqa")}
    ]
    assert rows[1]["golds"] == ["330 m", "330 m tall"]
    assert mlqa.fidelity and mlqa.kind == "generation"  # answers checked against the evaluation language

    metrics, details = mlqa.score(ctx(data), "en", rows, ["  “1889”.", "330"])  # Unicode quotes are punctuation
    assert details[0] == {"exact_match": 1.0, "f1": 1.0}
    assert details[1]["exact_match"] == 0.0 and details[1]["f1"] == pytest.approx(2 / 3)  # best gold: "330 m"
    assert metrics == {"exact_match": 0.5, "f1": pytest.approx((1 + 2 / 3) / 2)}

    zh = mlqa.load(ctx(data), "zh")
    assert zh[0]["golds"] == ["1898年"] and "北京大学创建于1898年" in zh[0]["messages"][0]["content"]
    metrics, details = mlqa.score(ctx(data), "zh", zh, ["1898 年", "京师"])  # mixed segmentation: one token per hanzi
    assert details[0]["exact_match"] == 1.0
    assert details[1]["f1"] == pytest.approx(2 * 1 * 0.4 / 1.4)

    ar = mlqa.load(ctx(data), "ar")
    _, details = mlqa.score(ctx(data), "ar", ar, ["م ك"])  # official rule: every "ال" becomes a space
    assert details[0]["exact_match"] == 1.0

    assert len(mlqa.load(ctx(data, limit=1), "en")) == 1
    with pytest.raises(DataError, match="no such file"):
        mlqa.load(ctx(data), "de")
    with pytest.raises(DataError, match="no language"):
        mlqa.load(ctx(data), "fr")


# -- XNLI -------------------------------------------------------------------------------------------------


def test_xnli_rows_are_lm_evals(data):
    rows = xnli.load(ctx(data), "en")
    assert [(r["id"], r["context"], r["gold"]) for r in rows] == [("1", "", 1), ("2", "", 2)]
    assert rows[0]["choices"] == [
        '"Mama, I\'m home," he said., right? Yes, He called his mom as soon as the school bus dropped him off.',
        '"Mama, I\'m home," he said., right? Also, He called his mom as soon as the school bus dropped him off.',
        '"Mama, I\'m home," he said., right? No, He called his mom as soon as the school bus dropped him off.',
    ]
    de = xnli.load(ctx(data), "de")
    assert [r["gold"] for r in de] == [1, 0]
    assert de[1]["choices"] == [
        'und er hat gesagt, Mama ich bin daheim., richtig? Ja, Er sagte: "Ich bin zu Hause."',
        'und er hat gesagt, Mama ich bin daheim., richtig? Auch, Er sagte: "Ich bin zu Hause."',
        'und er hat gesagt, Mama ich bin daheim., richtig? Nein, Er sagte: "Ich bin zu Hause."',
    ]
    zh = xnli.load(ctx(data), "zh")
    assert zh[0]["choices"] == [
        "他说，妈妈，我回来了。, 正确? 是的, 他告诉妈妈他已经到家了。",
        "他说，妈妈，我回来了。, 正确? 所以, 他告诉妈妈他已经到家了。",
        "他说，妈妈，我回来了。, 正确? 不是的, 他告诉妈妈他已经到家了。",
    ]
    assert xnli.load(ctx(data), "ar") == []  # the file has no Arabic rows
    vi = XNLI(split="test").load(ctx(data), "vi")  # the JSON-lines copy of the release
    assert vi[0]["choices"][2] == "Anh ấy nói., đúng? Không, Im lặng." and vi[0]["gold"] == 2
    assert xnli.metrics == ("acc",) and xnli.target_delimiter == " " and len(xnli.languages) == 15


# -- PAWS-X -----------------------------------------------------------------------------------------------


def test_pawsx_rows_are_lm_evals(data):
    rows = pawsx.load(ctx(data), "en")
    assert [(r["id"], r["context"], r["gold"]) for r in rows] == [("1", "", 1), ("3", "", 0)]  # the empty pair dropped
    # detokenised, stripped, then the final ";" removed (the space before it stays), sentence2 lowercased
    s1, s2 = 'The film wasn\'t released in"Europe"(only in Japan) ', "it wasn't released in Europe."
    assert rows[0]["choices"] == [f"{s1}, right? No, {s2}", f"{s1}, right? Yes, {s2}"]
    assert rows[1]["choices"][1] == (
        "In 1560, he met the English ambassador's envoy, Nicolas Throckmorton, in Paris, right? Yes, "
        "in Paris, in 1560, he met Nicolas Throckmorton, the English ambassador's envoy."
    )
    fr = pawsx.load(ctx(data), "fr")
    assert fr[0]["choices"] == [
        "Il est né à Paris, en France, n'est-ce pas? Non, il est né en France, à Paris.",
        "Il est né à Paris, en France, n'est-ce pas? Oui, il est né en France, à Paris.",
    ]
    zh = pawsx.load(ctx(data), "zh")  # no processing at all
    assert zh[0]["choices"] == [
        "1975年，他在巴黎秘密会见了英国大使。, 对吧? 不是, 他于1975年在巴黎秘密会见了英国大使。",
        "1975年，他在巴黎秘密会见了英国大使。, 对吧? 是, 他于1975年在巴黎秘密会见了英国大使。",
    ]
    assert zh[1]["choices"] == [", 对吧? 不是, 空的第一句 .", ", 对吧? 是, 空的第一句 ."] and zh[1]["gold"] == 0
    assert pawsx.target_delimiter == "" and pawsx.metrics == ("acc",)


# -- Belebele ---------------------------------------------------------------------------------------------


def test_belebele_rows_are_lm_evals(data):
    rows = belebele.load(ctx(data), "en")
    assert rows[0] == {
        "id": "https://en.wikibooks.org/wiki/Accordion/Right_hand#1",
        "context": f"P: {EN_PASSAGE}\nQ: Which is not an accurate tip for playing the accordion?\n"
        "A: Relax your hand\nB: Use more force for volume\nC: Hit the notes correctly\nD:  Keep it small \nAnswer:",
        "choices": ["A", "B", "C", "D"],
        "gold": 1,
    }
    assert rows[1]["gold"] == 3
    de = belebele.load(ctx(data), "de")
    assert de[0]["context"].startswith("P: Achten Sie darauf") and de[0]["context"].endswith("D: Klein halten\nAnswer:")
    assert belebele.metrics == ("acc", "acc_norm")
    assert belebele.load(ctx(data), "zh")[0]["gold"] == 0
    with pytest.raises(DataError, match="no such file"):
        belebele.load(ctx(data), "ko")


def test_belebele_language_codes():
    expected = {"de": "deu_Latn", "zh": "zho_Hans", "zh-Hant": "zho_Hant", "ar": "arb_Arab", "ar-Latn": "arb_Latn"}
    expected |= {"ko": "kor_Hang", "fil": "tgl_Latn", "sw": "swh_Latn", "hi-Latn": "hin_Latn", "en": "eng_Latn"}
    assert {tag: flores_code(tag) for tag in expected} == expected
    assert flores_code("zh-TW") == "zho_Hant" and flores_code("de-CH") == "deu_Latn"
    codes = [flores_code(tag) for tag in belebele.languages]
    assert len(set(codes)) == len(codes) == 122  # every Belebele variant has exactly one tag


def test_hub_loading_uses_the_official_field_names(monkeypatch):
    import datasets

    calls = []
    hub = {
        "facebook/mlqa": [
            {"id": "h1", "context": "C", "question": "Q?", "answers": {"text": ["C"], "answer_start": [0]}}
        ],
        "facebook/xnli": [{"premise": "P", "hypothesis": "H", "label": 2}],
        "google-research-datasets/paws-x": [{"id": 5, "sentence1": "A , b .", "sentence2": "B a .", "label": 1}],
        "facebook/belebele": BELEBELE_DOCS["deu_Latn"],
    }

    def load_dataset(path, name, split):
        calls.append((path, name, split))
        return hub[path]

    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    none = TaskContext()
    assert MLQA(hub="facebook/mlqa").load(none, "hi")[0]["golds"] == ["C"]
    assert XNLI(hub="facebook/xnli").load(none, "sw")[0]["choices"][2] == "P, sahihi? Hapana, H"
    assert PAWSX(hub="google-research-datasets/paws-x").load(none, "de")[0]["choices"][1] == "A, b, richtig? Ja, b a."
    assert Belebele(hub="facebook/belebele").load(none, "de")[0]["gold"] == 1
    assert calls == [
        ("facebook/mlqa", "mlqa.hi.hi", "test"),
        ("facebook/xnli", "sw", "validation"),
        ("google-research-datasets/paws-x", "de", "test"),
        ("facebook/belebele", "deu_Latn", "test"),
    ]


# -- end to end through the runner ------------------------------------------------------------------------


def test_runner_end_to_end(data, tiny_lab_model, tmp_path, monkeypatch):
    from xinstruct.evaluate import runner, tasks
    from xinstruct.evaluate.loglik import loglikelihoods

    for task in (mlqa, xnli, pawsx, belebele):
        monkeypatch.setitem(tasks.TASKS, task.name, task)
        monkeypatch.setitem(runner.TASKS, task.name, task)
    out = tmp_path / "eval"
    out.mkdir()
    c = ctx(data, candidate_languages=("en", "zh"))
    rows = runner.evaluate("arm", tiny_lab_model, c, ["mlqa", "xnli", "pawsx", "belebele"], ["en", "zh"], 4, 4, out)
    got = {(r["task"], r["language"], r["metric"]): r for r in rows}
    for lang in ("en", "zh"):
        assert {("mlqa", lang, "exact_match"), ("mlqa", lang, "f1"), ("mlqa", lang, "fidelity")} <= set(got)
        assert {("xnli", lang, "acc"), ("pawsx", lang, "acc"), ("belebele", lang, "acc")} <= set(got)
        assert ("belebele", lang, "acc_norm") in got
    assert got[("pawsx", "en", "acc")]["n"] == 2 and got[("xnli", "zh", "acc")]["n"] == 1
    assert all(0.0 <= r["value"] <= 1.0 for r in rows if r["metric"] in ("acc", "acc_norm", "exact_match", "f1"))
    with open(out / "metrics.csv", encoding="utf-8") as f:
        assert len(list(csv.DictReader(f))) == len(rows)
    predictions = [json.loads(line) for line in open(out / "predictions.jsonl", encoding="utf-8")]
    assert len([p for p in predictions if p["task"] == "belebele"]) == 3

    # the continuations the runner scored: " " + sentence after BOS (XNLI), the bare sentence (PAWS-X)
    model, tokenizer = runner.load_model(tiny_lab_model)
    for task in (xnli, belebele, pawsx):
        scored = [p["loglikelihoods"] for p in predictions if p["task"] == task.name and p["language"] == "en"]
        requests = [(r["context"], task.target_delimiter + ch) for r in task.load(c, "en") for ch in r["choices"]]
        want = [ll for ll, _ in loglikelihoods(model, tokenizer, requests, 4)]
        assert [ll for lls in scored for ll in lls] == pytest.approx(want, rel=1e-4, abs=1e-4)

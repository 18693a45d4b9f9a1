"""records:SOURCE@LANG: held-out task clusters evaluated zero-shot with templates (Han et al. 2024).

Config validation (good and bad, with file:line), the rows and choices on the real KorNLI/KorSTS files
with Korean and English templates, log-likelihood scoring through the runner with the tiny lab model, and
an experiment whose templates arm tunes nli and holds out sts, whose report says so.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from tests.conftest import SHARED_DATA
from xinstruct.config import SourceConfig, parse_experiment
from xinstruct.errors import ConfigError, DataError
from xinstruct.evaluate.tasks import evaluation_languages
from xinstruct.evaluate.tasks.common import TaskContext
from xinstruct.evaluate.tasks.records import chat_request, expand_tasks, records_task
from xinstruct.report.clusters import HELD_OUT, NOT_TUNED, SEEN, UNKNOWN, cluster_status

KOR_NLU = SHARED_DATA / "kor_nlu"
needs_kor_nlu = pytest.mark.skipif(not KOR_NLU.exists(), reason=f"KorNLI/KorSTS not found at {KOR_NLU}")

# -- small fixtures in KorNLI's and KorSTS's layouts -----------------------------------------------------------

NLI_ROWS = [
    ("고양이가 잔다.", "동물이 잔다.", "entailment"),
    ("고양이가 잔다.", "개가 짖는다.", "neutral"),
    ("고양이가 잔다.", "고양이가 뛴다.", "contradiction"),
    ("비가 온다.", "날씨가 궂다.", "entailment"),
    ("비가 온다.", "눈이 온다.", "neutral"),
    ("비가 온다.", "해가 쨍쨍하다.", "contradiction"),
]
STS_ROWS = [("5.000", "남자가 춤춘다.", "남자가 춤을 춘다."), ("2.5", "아이가 웃는다.", "아이가 운다."),
            ("0.4", "차가 달린다.", "새가 난다."), ("3.8", "여자가 요리한다.", "여자가 음식을 만든다.")]  # fmt: skip


def write_tsv(path: Path, header: list[str], rows) -> Path:
    path.write_text("\n".join("\t".join(r) for r in [header, *rows]) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def fixtures(tmp_path) -> dict[str, Path]:
    return {
        "nli": write_tsv(tmp_path / "nli.tsv", ["sentence1", "sentence2", "gold_label"], NLI_ROWS),
        "sts": write_tsv(
            tmp_path / "sts.tsv",
            ["genre", "filename", "year", "id", "score", "sentence1", "sentence2"],
            [("main", "f", "2012", f"{i:04d}", *row) for i, row in enumerate(STS_ROWS)],
        ),
    }


def context(sources: dict[str, SourceConfig], templates: dict | None = None, **kw) -> TaskContext:
    return TaskContext(record_sources=sources, record_templates=templates or {}, **kw)


# -- config ------------------------------------------------------------------------------------------------------

EXPERIMENT = """\
lab: {world: {languages: [en]}}
languages: [ko, en]
model: lab
data:
  sources:
    kornli: {path: nli.tsv, format: records, language: ko, task: nli}
    korsts: {path: sts.tsv, format: records, language: ko, task: sts}
    lab_en: {path: lab, format: lab}
arms:
  t: {recipe: templates, sources: [kornli, korsts], held_out: [sts]}
eval:
  tasks: [lab_qa, "records:kornli", "records:korsts@EN"]
  template_languages: [ko, en]
  languages: [en]
"""


def test_config_records_tasks_expand_per_template_language():
    exp = parse_experiment(EXPERIMENT, "exp.yaml")
    assert exp.eval.tasks == ["lab_qa", "records:kornli", "records:korsts@en"]  # the tag in its standard form
    assert expand_tasks(exp.eval, exp.data.sources) == [
        "lab_qa", "records:kornli@ko", "records:kornli@en", "records:korsts@en",
    ]  # fmt: skip
    default = parse_experiment(EXPERIMENT.replace("  template_languages: [ko, en]\n", ""), "exp.yaml")
    assert expand_tasks(default.eval, default.data.sources)[1:] == ["records:kornli@ko", "records:korsts@en"]


def test_config_records_user_templates():
    text = EXPERIMENT + (
        "  templates:\n"
        "    nli:\n"
        "      en:\n"
        "        - {prompt: '{sentence1} => {sentence2}?', response: 'Answer: {gold_label}',\n"
        "           maps: {gold_label: {entailment: right, neutral: unsure, contradiction: wrong}}}\n"
    )
    exp = parse_experiment(text, "exp.yaml")
    assert exp.eval.templates["nli"]["en"][0]["response"] == "Answer: {gold_label}"


TASKS_LINE = '[lab_qa, "records:kornli", "records:korsts@EN"]'
BAD_CONFIGS = [  # (replace this, by this), line, message
    (('"records:kornli"', '"records:nope"'), 11, "field eval: tasks[1]: records:nope: no source 'nope' in data"),
    (('"records:kornli"', '"records:lab_en"'), 11, "source 'lab_en' is format lab; a records task needs"),
    (('"records:kornli"', '"records:kornli@de"'), 11, "no template for task cluster 'nli' in language 'de'"),
    (("[ko, en]\n", "[ko, de]\n"), 11, "field eval: template_languages: records:kornli: no template for task"),
    (("[ko, en]\n", "[ko, ko]\n"), 13, "field eval.template_languages: give each template language once"),
    (('"records:kornli"', '"records:"'), 12, "field eval.tasks: 'records:': expected records:SOURCE or"),
    (('"records:kornli"', '"records:kornli@no such"'), 12, "'records:kornli@no such': 'no such' is not a valid"),
    ((TASKS_LINE, "[lab_qa, nli_x]"), 11, "unknown task 'nli_x'"),
    ((TASKS_LINE, "[lab_qa]"), 11, "template_languages: applies to records tasks"),
    (("language: ko, task: nli", "language: auto, task: nli"), 11, "a records task needs a declared `language`"),
]


@pytest.mark.parametrize(("edit", "line", "message"), BAD_CONFIGS)
def test_config_records_errors_name_file_line_and_field(edit, line, message):
    with pytest.raises(ConfigError) as e:
        parse_experiment(EXPERIMENT.replace(*edit), "exp.yaml")
    assert str(e.value).startswith(f"exp.yaml:{line}: field eval") and message in str(e.value), str(e.value)


UNSCORABLE = [  # an nli template in en, and the error
    ("{prompt: '{sentence1}', response: '{gold_label}'}", "answers with {gold_label}, which has no `maps`"),
    ("{prompt: a, response: '{sentence1} {gold_label}', maps: {gold_label: {a: b}}}", "exactly one field"),
    ("{prompt: '{sentence1}'}", "field eval.templates: nli.en[0]: response: Field required"),
    ("{prompt: a, response: '{gold_label}', shape: 1}", "nli.en[0]: shape: Extra inputs"),
]


@pytest.mark.parametrize(("template", "message"), UNSCORABLE)
def test_config_records_unscorable_templates(template, message):
    text = EXPERIMENT.replace('"records:korsts@EN"', '"records:kornli@en"')
    text += f"  templates:\n    nli:\n      en: [{template}]\n"
    with pytest.raises(ConfigError, match=re.escape(message)) as e:
        parse_experiment(text, "exp.yaml")
    assert re.match(r"exp\.yaml:1[0-5]: field eval", str(e.value)), str(e.value)


def test_sts_is_scored_on_its_integer_scale_any_other_unmapped_cluster_is_not():
    """sts: unmapped {score} over 0..5; a user cluster without maps is a config error naming the fix."""
    text = EXPERIMENT.replace("task: sts", "task: similarity").replace('"records:korsts@EN"', '"records:korsts"')
    text += "  templates:\n    similarity:\n      ko: [{prompt: '{sentence1} / {sentence2}', response: '{score}'}]\n"
    with pytest.raises(ConfigError, match=r"numeric scales of \['sts'\]"):
        parse_experiment(text, "exp.yaml")


# -- rows and choices -----------------------------------------------------------------------------------------------


def test_rows_choices_and_gold_on_fixtures(fixtures):
    sources = {
        "nli": SourceConfig(path=str(fixtures["nli"]), format="records", language="ko", task="nli"),
        "sts": SourceConfig(path=str(fixtures["sts"]), format="records", language="ko", task="sts"),
    }
    ctx = context(sources)
    ko, en = records_task("records:nli@ko", ctx), records_task("records:nli@en", ctx)
    assert ko.languages == en.languages == ("ko",) and ko.cluster == "nli"
    rows = en.load(ctx, "ko")
    assert [r["choices"] for r in rows] == [["yes", "maybe", "no"]] * 6
    assert [r["gold"] for r in rows] == [0, 1, 2, 0, 1, 2]
    assert rows[0]["messages"][0]["content"] == (  # the first built-in English template around the Korean data
        "Premise: 고양이가 잔다.\nHypothesis: 동물이 잔다.\n"
        "Does the premise entail the hypothesis? Answer yes, maybe or no."
    )
    assert ko.load(ctx, "ko")[2]["choices"] == ["예", "아마도", "아니오"]
    sts = records_task("records:sts", ctx)  # no @LANG: the data's language
    assert sts.name == "records:sts@ko"
    rows = sts.load(ctx, "ko")
    assert rows[0]["choices"] == ["0", "1", "2", "3", "4", "5"]
    assert [r["gold"] for r in rows] == [5, 3, 0, 4]  # rounded half up: 2.5 -> 3, 0.4 -> 0, 3.8 -> 4
    limited = context(sources, limit=2)
    ids = [r["id"] for r in records_task("records:sts@en", limited).load(limited, "ko")]
    assert ids == ["sts-000000", "sts-000001"]
    assert evaluation_languages(sts, ["en", "zh"]) == (["ko"], [])  # the data's language, whatever eval.languages
    with pytest.raises(DataError, match="is in ko, not 'en'"):
        sts.load(ctx, "en")


def test_user_templates_and_copa_choices_per_record(tmp_path):
    path = tmp_path / "copa.jsonl"
    doc = {"premise": "I ran.", "question": "effect", "choice1": "I sweated.", "choice2": "I slept.", "label": 0}
    path.write_text(json.dumps(doc), encoding="utf-8")
    sources = {"copa": SourceConfig(path=str(path), format="records", language="en", task="copa")}
    ctx = context(sources)
    row = records_task("records:copa@ko", ctx).load(ctx, "en")[0]
    assert row["choices"] == ["I sweated.", "I slept."] and row["gold"] == 0
    assert row["context"].startswith("I ran.\n결과") and "선택지 1: I sweated." in row["context"]
    templates = {"copa": {"en": [{"prompt": "{premise} ({question})", "response": "=> {label}",
                                  "maps": {"label": {"0": "{choice1}", "1": "{choice2}"}}}]}}  # fmt: skip
    row = records_task("records:copa@en", context(sources, templates)).load(ctx, "en")[0]
    assert row["context"] == "I ran. (effect)" and row["choices"] == ["=> I sweated.", "=> I slept."]


def test_bad_labels_are_data_errors_or_skipped(tmp_path):
    nli = write_tsv(tmp_path / "nli.tsv", ["sentence1", "sentence2", "gold_label"], [*NLI_ROWS[:2], ("a", "b", "-")])
    sts = write_tsv(tmp_path / "sts.tsv", ["score", "sentence1", "sentence2"], [("2", "a", "b"), ("n/a", "c", "d")])
    sources = {
        "nli": SourceConfig(path=str(nli), format="records", language="ko", task="nli"),
        "sts": SourceConfig(path=str(sts), format="records", language="ko", task="sts"),
        "sts_skip": SourceConfig(path=str(sts), format="records", language="ko", task="sts", skip_invalid=True),
    }
    ctx = context(sources)
    with pytest.raises(DataError, match=rf"{re.escape(str(nli))}:4: field 'gold_label': value '-' has no template"):
        records_task("records:nli@en", ctx).load(ctx, "ko")
    with pytest.raises(DataError, match=rf"{re.escape(str(sts))}:3: field 'score': expected a number from 0 to 5"):
        records_task("records:sts@en", ctx).load(ctx, "ko")
    assert len(records_task("records:sts_skip@en", ctx).load(ctx, "ko")) == 1
    with pytest.raises(ConfigError, match="eval.tasks: unknown task 'nope'"):
        records_task("nope", ctx)


@needs_kor_nlu
@pytest.mark.parametrize(
    ("lang", "words", "opening"),
    [("ko", ["예", "아마도", "아니오"], "전제: "), ("en", ["yes", "maybe", "no"], "Premise: ")],
)
def test_real_kornli_with_korean_and_english_templates(lang, words, opening):
    sources = {"kornli": SourceConfig(path=str(KOR_NLU / "KorNLI/xnli.dev.ko.tsv"), format="records",
                                      language="ko", task="nli")}  # fmt: skip
    ctx = context(sources)
    rows = records_task(f"records:kornli@{lang}", ctx).load(ctx, "ko")
    assert len(rows) == 2490 and all(r["choices"] == words for r in rows)
    assert [sum(r["gold"] == k for r in rows) for k in range(3)] == [830, 830, 830]
    assert rows[0]["gold"] == 1  # neutral
    assert rows[0]["context"].startswith(opening + '그리고 그가 말했다, "엄마, 저 왔어요."')


@needs_kor_nlu
@pytest.mark.parametrize(("lang", "opening"), [("ko", "문장 1: "), ("en", "Sentence 1: ")])
def test_real_korsts_scores_rounded_on_the_0_to_5_scale(lang, opening):
    path = KOR_NLU / "KorSTS/sts-dev.tsv"
    sources = {"korsts": SourceConfig(path=str(path), format="records", language="ko", task="sts")}
    ctx = context(sources)
    rows = records_task(f"records:korsts@{lang}", ctx).load(ctx, "ko")
    with open(path, encoding="utf-8") as f:
        scores = [float(r["score"]) for r in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)]
    assert len(rows) == len(scores) == 1500
    assert all(r["choices"] == ["0", "1", "2", "3", "4", "5"] for r in rows)
    assert [r["gold"] for r in rows] == [int(s + 0.5) for s in scores]
    assert rows[1]["gold"] == 5 and rows[0]["context"].startswith(opening + "안전모를 가진 한 남자가 춤을 추고 있다.")


# -- scoring --------------------------------------------------------------------------------------------------------


def test_chat_request_scores_the_label_as_the_assistants_reply(tiny_lab_model):
    from transformers import AutoTokenizer

    from xinstruct.train.chat_templates import resolve_chat_template

    tokenizer = AutoTokenizer.from_pretrained(tiny_lab_model)
    messages = [{"role": "user", "content": "Premise: a"}]
    assert chat_request(tokenizer, messages, "yes") == ("<|user|> Premise: a<|end|><|assistant|>", " yes")
    tokenizer.chat_template = resolve_chat_template("chatml")
    context_text, continuation = chat_request(tokenizer, messages, "yes")
    assert context_text.endswith("<|im_start|>assistant\n") and continuation == "yes"
    tokenizer.chat_template = None
    assert chat_request(tokenizer, messages, "yes") == ("Premise: a\n", "yes")


def test_runner_scores_records_by_loglikelihood(fixtures, tiny_lab_model, tmp_path):
    from xinstruct.evaluate import runner
    from xinstruct.evaluate.loglik import loglikelihoods

    sources = {
        "nli": SourceConfig(path=str(fixtures["nli"]), format="records", language="ko", task="nli"),
        "sts": SourceConfig(path=str(fixtures["sts"]), format="records", language="ko", task="sts"),
    }
    ctx = context(sources)
    tasks = ["records:nli@ko", "records:nli@en", "records:sts@en"]
    rows = runner.evaluate("arm", tiny_lab_model, ctx, tasks, ["en", "qaa"], 4, 8, tmp_path)
    assert [(r["task"], r["language"], r["metric"], r["n"]) for r in rows] == [
        (t, "ko", "acc", 4 if "sts" in t else 6) for t in tasks
    ]
    predictions = [json.loads(line) for line in open(tmp_path / "predictions.jsonl", encoding="utf-8")]
    model, tokenizer = runner.load_model(tiny_lab_model)
    for name in tasks:
        task = records_task(name, ctx)
        mine = [p for p in predictions if p["task"] == name]
        loaded = task.load(ctx, "ko")
        requests = [chat_request(tokenizer, r["messages"], c) for r in loaded for c in r["choices"]]
        assert requests[0][0].endswith("<|assistant|>") and requests[0][1] == " " + loaded[0]["choices"][0]
        want = [ll for ll, _ in loglikelihoods(model, tokenizer, requests, 8)]
        assert [ll for p in mine for ll in p["loglikelihoods"]] == pytest.approx(want, rel=1e-4, abs=1e-4)
        for p, row in zip(mine, loaded, strict=True):
            lls = p["loglikelihoods"]
            assert p["prediction"] == row["choices"][max(range(len(lls)), key=lls.__getitem__)]
            assert p["scores"] == {"acc": float(p["prediction"] == row["answer"])} and p["reference"] == row["answer"]
        acc = next(r["value"] for r in rows if r["task"] == name)
        assert acc == pytest.approx(sum(p["scores"]["acc"] for p in mine) / len(mine), abs=1e-6)


# -- contamination and report ----------------------------------------------------------------------------------------


def test_eval_sets_hold_the_records_texts(fixtures):
    from xinstruct.data.mixture import eval_sets

    text = EXPERIMENT.replace("nli.tsv", str(fixtures["nli"])).replace("sts.tsv", str(fixtures["sts"]))
    text = text.replace("lab_qa, ", "")
    sets = eval_sets(parse_experiment(text, "exp.yaml"))
    assert sorted(sets) == ["records:kornli@en/ko", "records:kornli@ko/ko", "records:korsts@en/ko"]
    assert sets["records:kornli@en/ko"][0] == "고양이가 잔다.\n동물이 잔다."  # the fields, not the template's words


def test_cluster_status():
    manifest = {"notes": {"held_out_tasks": ["sts"], "tuned_tasks": ["nli"]}, "counts": {"task": {"nli": 8}}}
    assert cluster_status(manifest, "sts") == HELD_OUT
    assert cluster_status(manifest, "nli") == SEEN
    assert cluster_status(manifest, "copa") == NOT_TUNED
    assert cluster_status({"counts": {"task": {"copa": 3}}}, "copa") == SEEN  # a task-tagged source, any recipe
    assert cluster_status(None, "nli") == UNKNOWN


def test_experiment_report_separates_tuned_and_held_out_clusters(fixtures, tiny_lab_model, cache_dir, tmp_path):
    """Two templates arms on small Korean fixtures: one tunes nli and holds out sts, the other the reverse."""
    from xinstruct import pipeline

    nli_eval = write_tsv(tmp_path / "nli_eval.tsv", ["sentence1", "sentence2", "gold_label"], NLI_ROWS[::-1][:3])
    sts_eval = write_tsv(tmp_path / "sts_eval.tsv", ["score", "sentence1", "sentence2"], STS_ROWS[:3])
    text = f"""
name: clusters
languages: [ko, en]
model: {tiny_lab_model}
data:
  sources:
    nli: {{path: {fixtures["nli"]}, format: records, language: ko, task: nli}}
    sts: {{path: {fixtures["sts"]}, format: records, language: ko, task: sts}}
    nli_eval: {{path: {nli_eval}, format: records, language: ko, task: nli}}
    sts_eval: {{path: {sts_eval}, format: records, language: ko, task: sts}}
arms:
  tune_nli: {{recipe: templates, sources: [nli, sts], held_out: [sts], n_examples: 4}}
  tune_sts: {{recipe: templates, sources: [nli, sts], held_out: [nli], n_examples: 4}}
train: {{method: full, epochs: 1, batch_size: 4, max_length: 256, loss_by_language: false}}
eval: {{tasks: ["records:nli_eval", "records:sts_eval@en"], batch_size: 16}}
report: {{metric: acc}}
"""
    out = tmp_path / "out"
    pipeline.run(parse_experiment(text, "exp.yaml"), out, cache_dir)
    rows = list(csv.DictReader(open(out / "results.csv", encoding="utf-8")))
    tasks = ("records:nli_eval@ko", "records:sts_eval@en")
    assert {(r["arm"], r["task"], r["language"], r["metric"]) for r in rows} == {
        (arm, task, "ko", "acc") for arm in ("tune_nli", "tune_sts") for task in tasks
    }
    manifest = json.loads((out / "tune_nli" / "eval" / "manifest.json").read_text())
    assert manifest["record_clusters"] == {"records:nli_eval@ko": "nli", "records:sts_eval@en": "sts"}
    report = (out / "report.md").read_text(encoding="utf-8")
    section = report[report.index("## Task clusters: seen in tuning vs held out") :]
    for arm, nli, sts in (("tune_nli", SEEN, HELD_OUT), ("tune_sts", HELD_OUT, SEEN)):
        assert f"| {arm} | records:nli_eval@ko | ko | nli | {nli} | acc " in section
        assert f"| {arm} | records:sts_eval@en | ko | sts | {sts} | acc " in section

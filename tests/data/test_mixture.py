"""`xinstruct data build` on experiment files over real data: manifests, sweeps, contamination, bad input."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from tests.conftest import SHARED_DATA
from xinstruct.artifacts import read_manifest, sha256_file
from xinstruct.cli import app
from xinstruct.config import parse_experiment

needs_shared = pytest.mark.skipif(not SHARED_DATA.exists(), reason=f"shared data not found at {SHARED_DATA}")

REAL = f"""
name: real-data
seed: 3
languages: [en, de, ko]
model: lab
data:
  sources:
    alpaca: {{path: {SHARED_DATA}/alpaca/alpaca_data.json, format: alpaca, skip_invalid: true}}
    ntrex: {{path: {SHARED_DATA}/ntrex/NTREX-128, format: parallel, layout: per_language}}
    kornli: {{path: {SHARED_DATA}/kor_nlu/KorNLI/xnli.dev.ko.tsv, format: records, language: ko, task: nli}}
    korsts: {{path: {SHARED_DATA}/kor_nlu/KorSTS/sts-dev.tsv, format: records, language: ko, task: sts}}
arms:
  demos: {{recipe: translation_demos, source: alpaca, n_examples: 300, parallel: ntrex, languages: [de, ko],
          direction: both, n_per_language: 25}}
  korani: {{recipe: templates, sources: [kornli, korsts], n_examples: 200, template_languages: {{en: 1.0}},
           held_out: [sts]}}
eval: {{tasks: [lab_qa], languages: [en]}}
lab:
  world: {{n_people: 12, languages: [en]}}  # the lab supplies the tokenizer and lab_qa only
"""


def _build(tmp_path, text: str, *extra: str):
    path = tmp_path / "exp.yaml"
    path.write_text(text)
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["data", "build", str(path), "--out", str(out), "--cache-dir", str(tmp_path / "cache"), *extra]
    )
    return result, out


@needs_shared
def test_real_data_build_and_manifest(tmp_path):
    result, out = _build(tmp_path, REAL)
    assert result.exit_code == 0, result.output
    demos = read_manifest(out / "demos" / "data")
    assert demos["n_examples"] == 300 + 100
    assert demos["counts"]["language_pair"] == {"de->en": 25, "en->de": 25, "en->en": 300, "en->ko": 25, "ko->en": 25}
    assert demos["counts"]["task"] == {"-": 300, "translation": 100}
    assert demos["counts"]["part"] == {"translation_demos": 400}
    assert demos["files"] == {"mixture.jsonl": sha256_file(out / "demos" / "data" / "mixture.jsonl")}
    lengths = demos["lengths"]
    assert lengths["tokens"] == {"tokenizer": "lab", "examples": 400}
    assert lengths["prompt_tokens"]["max"] >= lengths["prompt_tokens"]["p95"] >= lengths["prompt_tokens"]["median"] > 0
    assert lengths["response_chars"]["total"] > 0
    assert demos["contamination"] == {
        "ngram": 8, "checked_against": ["lab_qa/en"], "flagged": 0, "per_eval_set": {},
    }  # fmt: skip
    korani = read_manifest(out / "korani" / "data")
    assert korani["n_examples"] == 200 and korani["counts"]["task"] == {"nli": 200}
    assert korani["notes"] == {"held_out_tasks": ["sts"], "tuned_tasks": ["nli"]}
    assert korani["counts"]["language_pair"] == {"ko->en": 200}

    shown = CliRunner().invoke(app, ["data", "show", str(out / "korani")])
    assert shown.exit_code == 0 and "held_out_tasks" in shown.output


def test_languages_sweep_expands_into_arms():
    exp = parse_experiment(
        """
languages: [en, qaa, qab]
model: lab
data: {sources: {lab_en: {path: lab, format: lab}}}
arms:
  mono: {recipe: monolingual, source: lab_en}
  sweep: {recipe: languages_sweep, source: lab_en, n_examples: 90, languages: [en, qaa, qab]}
"""
    )
    assert list(exp.arms) == ["mono", "sweep-1", "sweep-2", "sweep-3"]
    assert [exp.arms[f"sweep-{j}"].params["n_languages"] for j in (1, 2, 3)] == [1, 2, 3]


def test_lab_sweep_and_decontamination(tmp_path):
    from xinstruct.lab.corpus import qa_questions
    from xinstruct.lab.world import World, WorldConfig

    world = World(WorldConfig(seed=0, n_people=12, languages=("en", "qaa")))
    leaked = qa_questions(world, "en")[:7]
    rows = [{"prompt": row["question"], "completion": row["answer"]} for row in leaked]
    rows += [{"prompt": f"an unrelated instruction number {i}", "completion": "ok."} for i in range(13)]
    (tmp_path / "leaky.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    text = f"""
seed: 0
languages: [en, qaa]
model: lab
data:
  sources:
    lab_en: {{path: lab, format: lab}}
    leaky: {{path: {tmp_path}/leaky.jsonl, format: prompt_completion}}
arms:
  sweep: {{recipe: languages_sweep, source: lab_en, n_examples: 30, languages: [en, qaa]}}
  leaky: {{recipe: monolingual, source: leaky}}
lab: {{world: {{n_people: 12}}}}
"""
    result, out = _build(tmp_path, text)
    assert result.exit_code == 0, result.output
    assert read_manifest(out / "sweep-1" / "data")["counts"]["language"] == {"en": 30}
    assert read_manifest(out / "sweep-2" / "data")["counts"]["language"] == {"en": 15, "qaa": 15}
    leaky = read_manifest(out / "leaky" / "data")
    assert leaky["n_examples"] == 20
    assert leaky["contamination"]["flagged"] == 7
    assert leaky["contamination"]["per_eval_set"] == {"lab_qa/en": 7}

    result, out = _build(tmp_path, text.replace("data:\n", "data:\n  decontaminate: true\n"))
    assert result.exit_code == 0, result.output
    leaky = read_manifest(out / "leaky" / "data")
    assert leaky["n_examples"] == 13 and leaky["contamination"]["dropped"] == 7
    kept = (out / "leaky" / "data" / "mixture.jsonl").read_text()
    assert all(row["question"] not in kept for row in leaked)


BAD_SOURCE = """
languages: [en]
model: lab
data:
  sources:
    src: {source}
arms:
  arm: {arm}
"""


@pytest.mark.parametrize(
    ("files", "source", "arm", "message"),
    [
        (
            {"bad.jsonl": '{"prompt": "a", "completion": "b"}\n{"prompt": \n'},
            "{path: DIR/bad.jsonl, format: prompt_completion}",
            "{recipe: monolingual, source: src}",
            r"bad\.jsonl:2: invalid JSON",
        ),
        (
            {"missing.jsonl": '{"instruction": "a"}\n'},
            "{path: DIR/missing.jsonl, format: alpaca}",
            "{recipe: monolingual, source: src}",
            r"missing\.jsonl:1: missing field 'output'",
        ),
        (
            {"empty.json": '[{"instruction": "a", "input": "", "output": ""}]'},
            "{path: DIR/empty.json, format: alpaca}",
            "{recipe: monolingual, source: src}",
            r"empty\.json: item 0: field 'output': expected non-empty text",
        ),
        (
            {"latin1.jsonl": '{"prompt": "caf\u00e9", "completion": "x"}\n'.encode("latin-1")},
            "{path: DIR/latin1.jsonl, format: prompt_completion}",
            "{recipe: monolingual, source: src}",
            r"latin1\.jsonl:1: not UTF-8",
        ),
        (
            {"cols.csv": "question,answer\nq,a\n"},
            "{path: DIR/cols.csv, format: alpaca}",
            "{recipe: monolingual, source: src}",
            r"cols\.csv:2: missing field 'instruction'",
        ),
        (
            {"en.txt": "one\ntwo\nthree\n", "de.txt": "eins\nzwei\n"},
            "{path: DIR/en.txt, target_path: DIR/de.txt, format: parallel, layout: files, language: en, "
            "target_language: de}",
            "{recipe: translation_demos, source: src2, parallel: src, languages: [de], n_per_language: 1}",
            r"en\.txt has 3 lines but .*de\.txt has 2",
        ),
        (
            {"x.jsonl": ""},
            "{path: DIR/x.jsonl, format: prompt_completion, language: klingon-xx}",
            "{recipe: monolingual, source: src}",
            r"exp\.yaml:6: field data\.sources\.src\.language: 'klingon-xx' is not a valid BCP-47",
        ),
    ],
)
def test_bad_input_exits_2_naming_the_place_and_writes_nothing(tmp_path, files, source, arm, message):
    for name, content in files.items():
        (tmp_path / name).write_bytes(content if isinstance(content, bytes) else content.encode())
    text = BAD_SOURCE.format(source=source.replace("DIR", str(tmp_path)), arm=arm)
    if "src2" in arm:
        (tmp_path / "ok.jsonl").write_text('{"prompt": "p", "completion": "c"}\n')
        text = text.replace("arms:", f"    src2: {{path: {tmp_path}/ok.jsonl, format: prompt_completion}}\narms:")
    result, out = _build(tmp_path, text)
    assert result.exit_code == 2, result.output
    import re

    assert re.search(message, result.output.replace("\n", "")), result.output
    assert not (out / "arm" / "data").exists()
    assert not any(p.is_file() for p in out.rglob("*")) if out.exists() else True


def test_contamination_ngrams():
    from xinstruct.data.contamination import overlap
    from xinstruct.data.schema import Example, chat

    def ex(prompt: str) -> Example:
        return Example(prompt[:10], chat(prompt, "r"), "s", "en", "en")

    eval_sets = {
        "long/en": ["Who wrote the novel that the famous director adapted into a film in 1999?"],
        "short/en": ["What is the capital of France?"],
    }
    train = [
        ex("Tell me: who wrote the novel that the famous director adapted, please."),  # 8-gram shared
        ex("who wrote the novel that the director adapted"),  # no 8 consecutive words shared
        ex("Quiz time! WHAT is the capital of France? Answer briefly."),  # contains the short eval text
        ex("What is the capital of Spain?"),
    ]
    flagged, per_set = overlap(train, eval_sets, 8)
    assert flagged == {0, 2}
    assert per_set == {"long/en": 1, "short/en": 1}
    assert overlap(train, eval_sets, 4)[0] == {0, 1, 2, 3}  # "what is the capital" is a shared 4-gram

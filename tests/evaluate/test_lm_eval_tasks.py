"""`lm_eval:NAME` tasks: lm-evaluation-harness tasks inside an experiment, with per-example scores.

The experiment test runs lm-eval's own XCOPA prompts over the real XCOPA files (a local task YAML with
`dataset_path: json`, as bench/mc_speed.py writes it, named like lm-eval's so it stands in for the hub
version) next to xinstruct's native `xcopa`, on the tiny fixture model, and checks: rows per language in
the transfer matrix with CIs, per-example scores equal to lm-eval's own `log_samples`, agreement with the
native task, a rerun that loads no model, and the contamination check seeing the task.
"""

from __future__ import annotations

import csv
import json
import shutil
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import SHARED_DATA
from xinstruct.config import parse_experiment
from xinstruct.errors import ConfigError
from xinstruct.evaluate.lm_eval_tasks import family_language, metric_name

LANGS = ("et", "zh")
LIMIT = 4
needs_data = pytest.mark.skipif(not (SHARED_DATA / "xcopa").exists(), reason=f"no XCOPA data at {SHARED_DATA}/xcopa")

TASK_YAML = """task: xcopa_{lang}
dataset_path: json
dataset_kwargs:
  data_files:
    test: {path}
output_type: multiple_choice
test_split: test
doc_to_text: !function utils.doc_to_text_{lang}
doc_to_target: label
doc_to_choice: !function utils.doc_to_choice
metric_list:
  - metric: acc
metadata:
  version: 1.0
"""
GROUP_YAML = """group: xcopa
task: [{tasks}]
aggregate_metric_list:
  - metric: acc
    aggregation: mean
    weight_by_size: true
metadata:
  version: 1.0
"""


def write_xcopa_tasks(root: Path, langs: tuple[str, ...] = LANGS) -> Path:
    """lm-eval's xcopa task (its prompt functions, copied) over the local XCOPA files: no hub needed."""
    import lm_eval

    tasks = root / "lm_eval_tasks"
    tasks.mkdir(parents=True)
    shutil.copy(Path(lm_eval.__file__).parent / "tasks" / "xcopa" / "utils.py", tasks / "utils.py")
    for lang in langs:
        path = SHARED_DATA / "xcopa" / "data" / lang / f"test.{lang}.jsonl"
        (tasks / f"xcopa_{lang}.yaml").write_text(TASK_YAML.format(lang=lang, path=path), encoding="utf-8")
    (tasks / "_xcopa.yaml").write_text(GROUP_YAML.format(tasks=", ".join(f"xcopa_{x}" for x in langs)))
    return tasks


EXPERIMENT = """
name: lm-eval-tasks
languages: [en, et, zh]
model: {model}
data:
  sources:
    alpaca: {{path: {data}/alpaca/alpaca_data.json, format: alpaca, skip_invalid: true}}
arms:
  few: {{recipe: monolingual, source: alpaca, n_examples: 8}}
  more: {{recipe: monolingual, source: alpaca, n_examples: 16}}
train: {{method: lora, epochs: 1, batch_size: 8, max_length: 128, loss_by_language: false}}
eval:
  tasks: [xcopa, lm_eval:xcopa]
  languages: [et, zh]
  limit: {limit}
  batch_size: 8
  data_dir: {data}
  lm_eval:
    include_path: {tasks}
report: {{metric: acc}}
"""


HEAD = "languages: [en]\nmodel: m\ndata: {sources: {s: {path: lab, format: lab}}}\n" + (
    "arms: {a: {recipe: monolingual, source: s}}\n"
)


# -- without lm_eval -------------------------------------------------------------------------------------


def test_family_table_maps_subtask_names_to_tags():
    assert family_language("xcopa_et") == "et"
    assert family_language("xstorycloze_my") == "my"
    assert family_language("xwinograd_jp") == "ja"  # lm-eval's code, not a tag
    assert family_language("belebele_zho_Hans") == "zh"  # FLORES-200 codes, the inverse of flores_code
    assert family_language("belebele_zho_Hant") == "zh-Hant"
    assert family_language("belebele_hin_Latn") == "hi-Latn"
    assert family_language("belebele_kor_Hang") == "ko"
    assert family_language("belebele_arb_Arab") == "ar"
    assert family_language("global_mmlu_full_fil_anatomy") == "fil"
    assert family_language("include_base_44_albanian_few_shot_en_arts_humanities") == "sq"  # INCLUDE: names
    assert family_language("xnli_eu_mt") is None  # a variant: eval.lm_eval.language_map says what it is
    assert family_language("hellaswag") is None
    assert metric_name("acc", "none") == "acc"
    assert metric_name("exact_match", "strict-match") == "exact_match:strict-match"


def test_naming_lm_eval_tasks_without_the_extra_is_a_config_error(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "lm_eval", None)  # `import lm_eval` raises ImportError
    text = HEAD.replace("[en]", "[et]") + "eval:\n  limit: 2\n  tasks: [xcopa, lm_eval:xstorycloze]\n"
    with pytest.raises(ConfigError) as err:
        parse_experiment(text, "exp.yaml")
    assert "exp.yaml:7: field eval.tasks" in str(err.value)
    assert 'pip install "lm_eval>=0.4.13,<0.5"' in str(err.value)
    experiment = tmp_path / "exp.yaml"
    experiment.write_text(text)
    from xinstruct.cli import app

    result = CliRunner().invoke(app, ["cells", str(experiment)])
    assert result.exit_code == 2 and 'pip install "lm_eval>=0.4.13,<0.5"' in result.output
    parse_experiment(text.replace(", lm_eval:xstorycloze", ""), "exp.yaml")  # native tasks need no extra


# -- with lm_eval ----------------------------------------------------------------------------------------


@needs_data
def test_config_errors_point_at_the_file_line(tmp_path):
    pytest.importorskip("lm_eval")
    tasks = write_xcopa_tasks(tmp_path)
    base = HEAD + "eval:\n"

    def error(eval_yaml: str) -> str:
        with pytest.raises(ConfigError) as err:
            parse_experiment(base + eval_yaml, "exp.yaml")
        return str(err.value)

    msg = error("  tasks: [lm_eval:xstorycloz]\n")
    assert msg.startswith("exp.yaml:5: field eval.lm_eval:") and "close: xstorycloze" in msg
    msg = error("  tasks: [lm_eval:hellaswag]\n")
    assert "no language for lm-eval subtask(s) hellaswag" in msg and "language_map" in msg
    msg = error(f"  tasks: [lm_eval:xcopa]\n  lm_eval:\n    include_path: {tmp_path}/nowhere\n")
    assert msg.startswith("exp.yaml:8: field eval.lm_eval.include_path") and "no such directory" in msg
    msg = error(
        f"  tasks: [lm_eval:xcopa]\n  lm_eval:\n    include_path: {tasks}\n    language_map: {{xcopa_xx: et}}\n"
    )
    assert msg.startswith("exp.yaml:7: field eval.lm_eval:") and "xcopa_xx" in msg
    msg = error("  tasks: [lm_eval:xcopa]\n  lm_eval: {language_map: {xcopa_et: not a tag}}\n")
    assert "exp.yaml:7: field eval.lm_eval.language_map.xcopa_et" in msg
    exp = parse_experiment(
        base + f"  tasks: [lm_eval:xcopa, lm_eval:hellaswag]\n  lm_eval:\n    include_path: {tasks}\n"
        "    language_map: {hellaswag: en, xcopa_zh: zh-Hans}\n",
        "exp.yaml",
    )  # a group's or subtask's tag; a local group overrides lm-eval's own of the same name
    assert exp.eval.lm_eval.language_map == {"hellaswag": "en", "xcopa_zh": "zh-Hans"}


def test_a_killed_run_resumes_from_the_finished_chunks(tmp_path):
    pytest.importorskip("lm_eval")
    from lm_eval.api.instance import Instance

    from xinstruct.evaluate.cache import Lazy, RequestCache
    from xinstruct.evaluate.lm_eval_tasks import _cached_lm_class

    class Model:
        def __init__(self, fail_after: int | None = None):
            self.asked: list[str] = []
            self.fail_after = fail_after

        def loglikelihood(self, requests, disable_tqdm: bool = False):
            if self.fail_after is not None and len(self.asked) >= self.fail_after:
                raise KeyboardInterrupt
            self.asked += [r.args[1] for r in requests]
            return [(-float(len(r.args[1])), False) for r in requests]

    requests = [
        Instance("loglikelihood", {}, ("context", f" choice {i}"), idx=0, metadata=("t", i, 1)) for i in range(10)
    ]
    cache = RequestCache(tmp_path / "eval_requests.sqlite")
    with cache:
        scopes = {"t": cache.scope("model", "t@1.0#abc")}
        killed = Model(fail_after=4)
        with pytest.raises(KeyboardInterrupt):
            _cached_lm_class()(Lazy(lambda: killed), None, scopes, chunk=4).loglikelihood(requests)
        resumed = Model()
        answers = _cached_lm_class()(Lazy(lambda: resumed), None, scopes, chunk=4).loglikelihood(requests)
    assert killed.asked == [f" choice {i}" for i in range(4)]
    assert resumed.asked == [f" choice {i}" for i in range(4, 10)]  # the first chunk was kept
    assert answers == [(-float(len(f" choice {i}")), False) for i in range(10)]


@pytest.mark.slow
@needs_data
def test_experiment_with_an_lm_eval_task(tiny_lab_model, cache_dir, tmp_path, monkeypatch):
    lm_eval = pytest.importorskip("lm_eval")
    from xinstruct import pipeline
    from xinstruct.config import load_experiment
    from xinstruct.evaluate import runner

    tasks = write_xcopa_tasks(tmp_path)
    experiment = tmp_path / "exp.yaml"
    experiment.write_text(EXPERIMENT.format(model=tiny_lab_model, data=SHARED_DATA, tasks=tasks, limit=LIMIT))
    exp = load_experiment(experiment)
    out = tmp_path / "out"
    pipeline.run(exp, out, cache_dir)

    # rows per language, lm-eval's metric names and task version, in the report's transfer matrix with CIs
    rows = list(csv.DictReader(open(out / "results.csv", encoding="utf-8")))
    mine = [r for r in rows if r["task"] == "lm_eval:xcopa"]
    assert {(r["arm"], r["language"], r["metric"]) for r in mine} == {
        (arm, lang, "acc") for arm in ("few", "more") for lang in LANGS
    }
    assert all(r["n"] == str(LIMIT) and r["task_version"] == "1.0" for r in mine)
    report = (out / "report.md").read_text(encoding="utf-8")
    section = report.split("## lm_eval:xcopa: acc")[1].split("##")[0]
    assert "| few |" in section and "| more |" in section and "[" in section  # cells with a 95% CI

    def predictions(arm: str, task: str) -> list[dict]:
        lines = (out / arm / "eval" / "predictions.jsonl").read_text(encoding="utf-8").splitlines()
        return [r for r in map(json.loads, lines) if r["task"] == task]

    # per-example scores: lm-eval's own log_samples, run here directly on the same merged model
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager

    model, tokenizer = runner.load_model(out / "few" / "train")
    direct = lm_eval.simple_evaluate(
        model=HFLM(pretrained=model, tokenizer=tokenizer, batch_size=8, softmax_dtype="float32"),
        tasks=["xcopa"],
        task_manager=TaskManager(include_path=str(tasks), include_defaults=False),
        limit=LIMIT,
        log_samples=True,
        bootstrap_iters=0,
    )
    ours = {r["id"]: r for r in predictions("few", "lm_eval:xcopa")}
    assert len(ours) == LIMIT * len(LANGS)
    for lang in LANGS:
        for sample in direct["samples"][f"xcopa_{lang}"]:
            record = ours[f"xcopa_{lang}/{sample['doc_id']}"]
            assert record["language"] == lang and record["scores"] == {"acc": sample["acc"]}
            theirs = [float(r[0]) for r in sample["filtered_resps"]]
            assert record["loglikelihoods"] == pytest.approx(theirs, abs=1e-5)

    # agreement with xinstruct's native xcopa (same prompts; two engines): same choice, same log-likelihoods
    for arm in ("few", "more"):
        native = {(r["language"], int(r["id"])): r for r in predictions(arm, "xcopa")}
        for record in predictions(arm, "lm_eval:xcopa"):
            doc = int(record["id"].rpartition("/")[2])  # XCOPA's idx is its position in the file
            twin = native[(record["language"], doc)]
            assert record["prediction"] == twin["prediction"]
            assert record["loglikelihoods"] == pytest.approx(twin["loglikelihoods"], abs=1e-4)

    # the contamination check compared the training data with the task's documents too
    manifest = json.loads((out / "few" / "data" / "manifest.json").read_text(encoding="utf-8"))
    assert {f"lm_eval:xcopa/{lang}" for lang in LANGS} <= set(manifest["contamination"]["checked_against"])

    # a rerun is answered from the request cache: no model is even loaded
    before = {arm: predictions(arm, "lm_eval:xcopa") for arm in ("few", "more")}
    for arm in ("few", "more"):
        shutil.rmtree(out / arm / "eval")

    def no_model(*args, **kwargs):
        raise AssertionError("a cached rerun loaded a model")

    monkeypatch.setattr(runner, "load_model", no_model)
    pipeline.run(exp, out, cache_dir)
    assert {arm: predictions(arm, "lm_eval:xcopa") for arm in ("few", "more")} == before

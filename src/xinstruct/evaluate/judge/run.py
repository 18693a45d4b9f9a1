"""The judge step of an experiment: every arm answers the open-ended prompts, an LLM judges them.

After every arm is evaluated: each arm's trained model answers the prompt set in every evaluation
language (greedy, `judge.max_new_tokens`); then, per `judge.modes`,
- rubric: the judge scores each answer on the six aspects (`verdicts.ASPECTS`); per language the
  mean of each aspect and of their mean (`rubric_mean`), scaled (score - 1) / 4;
- pairwise: each arm's answer against its partner's on the same prompt, judged in both orders
  (position bias cancels); per language `score` (win 1, tie 0.5, loss 0, averaged over both
  orders), and the shares of `win`, `tie`, `loss` (score above, at, below 0.5). The partner
  (`judge.pairwise_against: auto`) in language L is the arm tuned monolingually in L, as in the
  pinch paper: the first arm whose data (`DIR/<arm>/data/manifest.json`, counts.language_pair) is
  all L->L, compared by language (`xinstruct.languages`: data `zh` is evaluation `zh-CN`), whatever
  its recipe (a pinch with share 1.0 or a translated monolingual arm counts). Where no arm is, the
  first arm stands in, with a warning. An arm is not compared with itself. The partner used in
  each language, and how it was chosen, is in `DIR/<arm>/judge/manifest.json`.
With `judge.backend: lab` the verdicts are computed exactly from the lab world (`lab.py`; harmlessness
is not applicable there: no row, and `not_applicable` in the judge manifest). An LLM judge answer that
is not the strict JSON asked for is asked again with the parse error (at most
`judge.retries` times); what stays malformed is excluded from the means and counted in
`judge_failures` (share of prompts). A mean's `n` is the number of valid verdicts it averages;
judge_failures' `n` is the number of prompts. Answers and judgements go through the request cache
(`<cache_dir>/eval_requests.sqlite`), so a killed judge step resumes and a rerun asks nothing.
Outputs: `DIR/<arm>/judge/metrics.csv` (the results schema; tasks judge_rubric, judge_pairwise),
`predictions.jsonl` (answers, verdicts and per-example scores for the report's intervals) and,
with pairwise, `manifest.json` (the partners).
"""

from __future__ import annotations

import json
from pathlib import Path

from xinstruct.artifacts import atomic_dir
from xinstruct.evaluate.cache import Lazy, RequestCache, cache_path, request_key
from xinstruct.evaluate.judge.backends import make_judge
from xinstruct.evaluate.judge.prompt_sets import load_prompts
from xinstruct.evaluate.judge.verdicts import (
    ASPECTS,
    pair_points,
    pairwise_request,
    parse_pairwise,
    parse_rubric,
    rubric_request,
    template,
)
from xinstruct.evaluate.runner import cache_model_key, load_model, result_rows, write_results
from xinstruct.languages import display_name, same_language
from xinstruct.progress import progress_bar, warn

VERSION = 1
CHUNK = 16  # judge requests per cache commit: a killed run loses at most this many


def judge_experiment(exp, out: Path, cache_dir: Path, base_model: Path | None) -> dict[str, list[dict]]:
    """Run the judge step for every arm of `exp` under `out`; return each arm's result rows."""
    cfg = exp.judge
    languages = exp.eval_languages
    items = {lang: load_prompts(cfg.prompts, lang, base_model, cfg.skip_invalid, cfg.limit) for lang in languages}
    arms = list(exp.arms)
    rows: dict[str, list[dict]] = {arm: [] for arm in arms}
    records: dict[str, list[dict]] = {arm: [] for arm in arms}
    partners = pairwise_partners(exp, out, languages) if "pairwise" in cfg.modes else {}
    with RequestCache(cache_path(cache_dir)) as cache:
        from xinstruct.evaluate.device import resolve_placement

        # the arms answer where and in the precision they are evaluated (eval.device / eval.dtype)
        placement = resolve_placement(exp.eval.device, exp.eval.dtype, exp.eval.device_map, lab=exp.model == "lab")
        answers = {arm: _answers(arm, out / arm / "train", items, cfg, cache, placement) for arm in arms}
        judge = make_judge(cfg, base_model)
        scope = cache.scope(judge.identity(cache), f"judge@{VERSION}")
        aspects = getattr(judge, "aspects", tuple(ASPECTS))  # the lab judge: the applicable ones
        if "rubric" in cfg.modes:
            text = template("rubric", cfg.rubric_prompt)
            for arm in arms:
                for lang in languages:
                    if cfg.backend == "lab":  # exact verdicts, computed (lab.py)
                        verdicts = judge.rubric(items[lang], answers[arm][lang])
                        _rubric_results(arm, lang, items[lang], answers[arm][lang], verdicts, rows, records, aspects)
                        continue
                    requests = [
                        (f"{arm}/{lang}/{item['id']}", rubric_request(text, item, answer, _name(lang)))
                        for item, answer in zip(items[lang], answers[arm][lang], strict=True)
                    ]
                    verdicts = _ask(judge, scope, requests, parse_rubric, cfg.retries, f"rubric {arm} {lang}")
                    _rubric_results(arm, lang, items[lang], answers[arm][lang], verdicts, rows, records)
        if "pairwise" in cfg.modes:
            text = template("pairwise", cfg.pairwise_prompt)
            for arm in arms:
                for lang in languages:
                    partner = partners[lang]["arm"]
                    if partner == arm:
                        continue
                    if cfg.backend == "lab":  # both orders, as below (the lab judge has no position bias)
                        ab = judge.pairwise(items[lang], answers[arm][lang], answers[partner][lang])
                        ba = judge.pairwise(items[lang], answers[partner][lang], answers[arm][lang])
                        verdicts = [v for pair in zip(ab, ba, strict=True) for v in pair]
                        _pairwise_results(arm, partner, lang, items[lang], verdicts, rows, records)
                        continue
                    requests = []
                    for item, mine, theirs in zip(items[lang], answers[arm][lang], answers[partner][lang], strict=True):
                        key = f"{arm}|{partner}/{lang}/{item['id']}"
                        requests.append((key + "/AB", pairwise_request(text, item, mine, theirs, _name(lang))))
                        requests.append((key + "/BA", pairwise_request(text, item, theirs, mine, _name(lang))))
                    verdicts = _ask(judge, scope, requests, parse_pairwise, cfg.retries, f"pairwise {arm} {lang}")
                    _pairwise_results(arm, partner, lang, items[lang], verdicts, rows, records)
    for arm in arms:
        with atomic_dir(out / arm / "judge") as tmp:
            write_results(rows[arm], tmp / "metrics.csv")
            with open(tmp / "predictions.jsonl", "w", encoding="utf-8") as f:
                f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in records[arm])
            manifest = {"pairwise_against": cfg.pairwise_against, "partners": partners} if partners else {}
            if getattr(judge, "not_applicable", None):  # aspects the judge leaves out, and why (the lab's)
                manifest["not_applicable"] = judge.not_applicable
            if manifest:
                (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    return rows


def _name(lang: str) -> str:
    return display_name(lang)


def _answers(arm: str, model_dir: Path, items: dict, cfg, cache: RequestCache, placement=None) -> dict[str, list[str]]:
    """The arm's answers to every prompt, on `placement` (request cache: a rerun loads no model)."""
    from transformers import AutoTokenizer

    from xinstruct.evaluate.generate import generate

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = Lazy(lambda: load_model(model_dir, placement=placement)[0])
    scope = cache.scope(cache_model_key(cache, model_dir, placement), f"judge_prompts@{VERSION}")
    return {
        lang: generate(
            model,
            tokenizer,
            [[{"role": "user", "content": item["prompt"]}] for item in lang_items],
            cfg.max_new_tokens,
            cfg.batch_size,
            f"{arm} answers {lang}",
            scope,
            [f"{lang}/{item['id']}" for item in lang_items],
        )  # fmt: skip
        for lang, lang_items in items.items()
    }


def _ask(judge, scope, requests: list[tuple[str, str]], parse, retries: int, label: str) -> list:
    """Parsed judge answers (None where still malformed after `retries` corrections), in order."""
    conversations = [[{"role": "user", "content": text}] for _, text in requests]
    parsed: list = [None] * len(requests)
    raw: list[str] = [""] * len(requests)
    pending = list(range(len(requests)))
    with progress_bar() as bar:
        task = bar.add_task(f"judge {label}", total=len(requests))
        for attempt in range(retries + 1):
            keys = [(requests[i][0], request_key({"messages": conversations[i]})) for i in pending]
            found = scope.get_many(keys)
            todo = [(i, key) for i, key in zip(pending, keys, strict=True) if key not in found]
            for start in range(0, len(todo), CHUNK):
                chunk = todo[start : start + CHUNK]
                answers = judge.answer([conversations[i] for i, _ in chunk], f"judge {label}")
                scope.put_many([(key, answer) for (_, key), answer in zip(chunk, answers, strict=True)])
                found.update({key: answer for (_, key), answer in zip(chunk, answers, strict=True)})
            retry = []
            for i, key in zip(pending, keys, strict=True):
                raw[i] = found[key]
                try:
                    parsed[i] = parse(raw[i])
                    bar.update(task, advance=1)
                except ValueError as e:
                    if attempt == retries:
                        bar.update(task, advance=1)
                        continue
                    conversations[i] = conversations[i] + [
                        {"role": "assistant", "content": raw[i]},
                        {"role": "user", "content": f"That reply is not valid: {e}. Reply with the JSON object only."},
                    ]
                    retry.append(i)
            pending = retry
            if not pending:
                break
    return [(value, text) for value, text in zip(parsed, raw, strict=True)]


def _summary(arm: str, task: str, lang: str, metrics: tuple[str, ...], valid: list[dict], n: int) -> list[dict]:
    """Result rows: each metric's mean over the valid verdicts, and the share of the n prompts that failed.

    Each row's n is what its value is computed over (the report shows it, and a reader weighs the value by
    it): the means' n is the number of valid verdicts, judge_failures' n the number of prompts."""
    means = {m: sum(v[m] for v in valid) / len(valid) for m in metrics} if valid else {}
    failures = {"judge_failures": (n - len(valid)) / n if n else 0.0}
    return result_rows(arm, task, VERSION, lang, means, len(valid)) + result_rows(arm, task, VERSION, lang, failures, n)


def _rubric_results(arm, lang, items, answers, verdicts, rows, records, aspects=tuple(ASPECTS)) -> None:
    """Per answer: the six aspects, and beside the judged `language` the measured one: the Language
    Confusion Benchmark's line pass (`lpr`, fastText) and whether the two agree (`language_agreement`: the
    judge's language score >= 4 of 5 exactly when every line of 5+ tokens is in the language)."""
    from xinstruct.evaluate.fidelity import line_pass_rate

    valid = []
    _, measured = line_pass_rate(answers, lang, vacuous=False)
    measured_n = sum(m.get("lpr") is not None for m in measured)
    agreements = []
    for item, answer, (scores, raw), line in zip(items, answers, verdicts, measured, strict=True):
        per = {}
        if scores is not None:
            per = {aspect: (score - 1) / 4 for aspect, score in scores.items()}
            per["rubric_mean"] = sum(per.values()) / len(aspects)
            valid.append(per)
        per["judge_failures"] = float(scores is None)
        if line.get("lpr") is not None:
            per["lpr"] = line["lpr"]
            if scores is not None:
                per["language_agreement"] = float((per["language"] >= 0.75) == (line["lpr"] == 1.0))
                agreements.append(per["language_agreement"])
        record = {"arm": arm, "task": "judge_rubric", "language": lang, "id": item["id"], "prompt": item["prompt"]}
        records[arm].append({**record, "prediction": answer, "verdict": raw, "scores": per})
    rows[arm] += _summary(arm, "judge_rubric", lang, ("rubric_mean", *aspects), valid, len(items))
    if measured_n:
        lpr = sum(m["lpr"] for m in measured if m.get("lpr") is not None) / measured_n
        rows[arm] += result_rows(arm, "judge_rubric", VERSION, lang, {"lpr": lpr}, measured_n)
    if agreements:
        agreement = {"language_agreement": sum(agreements) / len(agreements)}
        rows[arm] += result_rows(arm, "judge_rubric", VERSION, lang, agreement, len(agreements))


def _pairwise_results(arm, partner, lang, items, verdicts, rows, records) -> None:
    valid = []
    for k, item in enumerate(items):
        (first, raw_first), (second, raw_second) = verdicts[2 * k], verdicts[2 * k + 1]
        per = {}
        if first is not None and second is not None:
            points = pair_points(first, second)
            per = {
                "score": points,
                "win": float(points > 0.5),
                "tie": float(points == 0.5),
                "loss": float(points < 0.5),
            }
            valid.append(per)
        per["judge_failures"] = float(first is None or second is None)
        records[arm].append({"arm": arm, "task": "judge_pairwise", "language": lang, "id": item["id"],
                             "partner": partner, "prompt": item["prompt"], "verdicts": [raw_first, raw_second],
                             "scores": per})  # fmt: skip
    rows[arm] += _summary(arm, "judge_pairwise", lang, ("score", "win", "tie", "loss"), valid, len(items))


def monolingual_in(manifest: Path, lang: str) -> bool:
    """Whether an arm's tuning data is all `lang` -> `lang` (instruction and response), by its data manifest.

    By data, not recipe name: a pinch with share 1.0 or a translated monolingual arm is monolingual too,
    and a monolingual recipe on an English source is not monolingual in zh. By language, not tag
    (`same_language`): the data's `zh` is the evaluation's `zh-CN`. No manifest: not known to be."""
    if not manifest.exists():
        return False
    counts = json.loads(manifest.read_text(encoding="utf-8")).get("counts", {}).get("language_pair", {})
    pairs = [pair.split("->") for pair, n in counts.items() if n]
    return bool(pairs) and all(len(p) == 2 and all(same_language(side, lang) for side in p) for p in pairs)


def pairwise_partners(exp, out: Path, languages: list[str]) -> dict[str, dict[str, str]]:
    """Per evaluation language, whom every arm is compared with: {"arm": name, "how": configured |
    monolingual | fallback}. auto: the first arm tuned monolingually in the language (`monolingual_in`),
    else the first arm, with a warning: a fallback partner changes what the win rate means."""
    against = exp.judge.pairwise_against
    first = next(iter(exp.arms))
    partners = {}
    for lang in languages:
        if against != "auto":
            partners[lang] = {"arm": against, "how": "configured"}
            continue
        tuned = [arm for arm in exp.arms if monolingual_in(out / arm / "data" / "manifest.json", lang)]
        if tuned:
            partners[lang] = {"arm": tuned[0], "how": "monolingual"}
        else:
            warn(
                f"judge pairwise {lang}: no arm is tuned monolingually in {lang} (a data manifest whose pairs are all "
                f"{lang}->{lang}); comparing every arm with the first arm, {first!r} (set judge.pairwise_against "
                f"to choose; recorded in <arm>/judge/manifest.json)"
            )
            partners[lang] = {"arm": first, "how": "fallback"}
    return partners

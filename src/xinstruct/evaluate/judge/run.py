"""The judge step of an experiment: every arm answers the open-ended prompts, an LLM judges them.

After every arm is evaluated: each arm's trained model answers the prompt set in every evaluation
language (greedy, `judge.max_new_tokens`); then, per `judge.modes`,
- rubric: the judge scores each answer on the six aspects (`verdicts.ASPECTS`); per language the
  mean of each aspect and of their mean (`rubric_mean`), scaled (score - 1) / 4;
- pairwise: each arm's answer against its partner's on the same prompt, judged in both orders
  (position bias cancels); per language `score` (win 1, tie 0.5, loss 0, averaged over both
  orders), and the shares of `win`, `tie`, `loss` (score above, at, below 0.5). The partner
  (`judge.pairwise_against: auto`) is the arm tuned monolingually in that language, as in the pinch
  paper, else the first arm; an arm is not compared with itself.
A judge answer that is not the strict JSON asked for is asked again with the parse error (at most
`judge.retries` times); what stays malformed is excluded from the means and counted in
`judge_failures` (share of prompts). Answers and judgements go through the request cache
(`<cache_dir>/eval_requests.sqlite`), so a killed judge step resumes and a rerun asks nothing.
Outputs: `DIR/<arm>/judge/metrics.csv` (the results schema; tasks judge_rubric, judge_pairwise)
and `predictions.jsonl` (answers, verdicts and per-example scores for the report's intervals).
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
from xinstruct.progress import progress_bar

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
    with RequestCache(cache_path(cache_dir)) as cache:
        answers = {arm: _answers(arm, out / arm / "train", items, cfg, cache) for arm in arms}
        judge = make_judge(cfg, base_model)
        scope = cache.scope(judge.identity(cache), f"judge@{VERSION}")
        if "rubric" in cfg.modes:
            text = template("rubric", cfg.rubric_prompt)
            for arm in arms:
                for lang in languages:
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
                    partner = _partner(exp, out, arm, lang)
                    if partner == arm:
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
    return rows


def _name(lang: str) -> str:
    from xinstruct.recipes.phrases import language_name

    return language_name(lang)


def _answers(arm: str, model_dir: Path, items: dict, cfg, cache: RequestCache) -> dict[str, list[str]]:
    """The arm's answers to every prompt (request cache: a rerun loads no model)."""
    from transformers import AutoTokenizer

    from xinstruct.evaluate.generate import generate

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = Lazy(lambda: load_model(model_dir)[0])
    scope = cache.scope(cache_model_key(cache, model_dir), f"judge_prompts@{VERSION}")
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
    """Result rows: each metric's mean over the valid verdicts, and the share of prompts that failed."""
    means = {m: sum(v[m] for v in valid) / len(valid) for m in metrics} if valid else {}
    return result_rows(arm, task, VERSION, lang, {**means, "judge_failures": (n - len(valid)) / n if n else 0.0}, n)


def _rubric_results(arm, lang, items, answers, verdicts, rows, records) -> None:
    valid = []
    for item, answer, (scores, raw) in zip(items, answers, verdicts, strict=True):
        per = {}
        if scores is not None:
            per = {aspect: (score - 1) / 4 for aspect, score in scores.items()}
            per["rubric_mean"] = sum(per.values()) / len(ASPECTS)
            valid.append(per)
        per["judge_failures"] = float(scores is None)
        record = {"arm": arm, "task": "judge_rubric", "language": lang, "id": item["id"], "prompt": item["prompt"]}
        records[arm].append({**record, "prediction": answer, "verdict": raw, "scores": per})
    rows[arm] += _summary(arm, "judge_rubric", lang, ("rubric_mean", *ASPECTS), valid, len(items))


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


def _partner(exp, out: Path, arm: str, lang: str) -> str:
    """Whom `arm` is compared with in `lang`: the configured arm, else the arm tuned monolingually in it."""
    if exp.judge.pairwise_against != "auto":
        return exp.judge.pairwise_against
    for other in exp.arms:
        if exp.arms[other].recipe != "monolingual":
            continue
        manifest = out / other / "data" / "manifest.json"
        if manifest.exists():
            counts = json.loads(manifest.read_text(encoding="utf-8")).get("counts", {}).get("language", {})
            if set(counts) == {lang}:
                return other
    return next(iter(exp.arms))

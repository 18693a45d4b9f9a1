"""LLM judges: strict verdict parsing, prompt sets (HPLT's malformed line), both backends end to end."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import SHARED_DATA, TINY_EXPERIMENT
from tests.stubs import cached_requests
from xinstruct.errors import DataError
from xinstruct.evaluate.judge.prompt_sets import load_prompts
from xinstruct.evaluate.judge.verdicts import pair_points, parse_pairwise, parse_rubric

HPLT = SHARED_DATA / "hplt_instruction_test"
RUBRIC = {"language": 5, "fluency": 4, "helpfulness": 3, "factuality": 2, "logic": 1, "harmlessness": 5}


def test_verdicts_are_strict_json():
    assert parse_rubric(json.dumps({**RUBRIC, "rationale": "ok"})) == RUBRIC
    assert parse_rubric("```json\n" + json.dumps(RUBRIC) + "\n```") == RUBRIC  # a fence is tolerated
    for bad, why in [
        ("Scores: 5, 4, 3", "not a JSON object"),
        ("[1, 2]", "expected a JSON object"),
        (json.dumps({**RUBRIC, "logic": 6}), "logic must be an integer from 1 to 5"),
        (json.dumps({**RUBRIC, "fluency": "4"}), "fluency must be an integer"),
        (json.dumps({k: v for k, v in RUBRIC.items() if k != "harmlessness"}), "missing aspect"),
        ("Sure! " + json.dumps(RUBRIC), "not a JSON object"),  # nothing around the object
    ]:
        with pytest.raises(ValueError, match=why):
            parse_rubric(bad)
    assert parse_pairwise('{"winner": "A"}') == "A" and parse_pairwise('{"winner": "Tie"}') == "tie"
    with pytest.raises(ValueError, match="winner must be"):
        parse_pairwise('{"winner": "both"}')


def test_both_orders_cancel_position_bias():
    assert pair_points("A", "A") == 0.5  # a judge that always says "A": a tie
    assert pair_points("A", "B") == 1.0 and pair_points("B", "A") == 0.0
    assert pair_points("tie", "B") == 0.75


@pytest.mark.skipif(not HPLT.exists(), reason=f"shared data not found at {HPLT}")
def test_hplt_prompts_and_the_malformed_line():
    assert len(load_prompts(str(HPLT), "en", None, False, None)) == 50
    with pytest.raises(DataError, match=r"test_hi\.jsonl:50: .*judge\.skip_invalid"):
        load_prompts(str(HPLT), "hi", None, False, None)
    hi = load_prompts(str(HPLT), "hi", None, True, None)
    assert len(hi) == 49 and hi[0]["language"] == "hi"
    en, zh = (load_prompts(str(HPLT / "test_{lang}.jsonl"), lang, None, False, None) for lang in ("en", "zh"))
    differ = [i + 1 for i, (a, b) in enumerate(zip(en, zh, strict=True)) if a["id"] != b["id"]]
    assert differ == [13]  # aligned by id except zh line 13 (README of the shared data)
    with pytest.raises(DataError, match="no such prompt file"):
        load_prompts(str(HPLT), "xx", None, False, None)


# -- end to end ------------------------------------------------------------------------------------------


def experiment_with_judge(tmp_path: Path, tiny_lab_model: Path, judge: dict):
    """The tiny experiment, its two arms 'trained' (the tiny lab model stands in), with a judge section."""
    import yaml

    from xinstruct.config import Experiment

    raw = yaml.safe_load(TINY_EXPERIMENT)
    raw["judge"] = judge
    exp = Experiment.model_validate(raw)
    out = tmp_path / "out"
    for arm, languages in (("english_only", {"en": 40}), ("pinch", {"en": 30, "qaa": 5, "qac": 5})):
        shutil.copytree(tiny_lab_model, out / arm / "train")
        (out / arm / "data").mkdir(parents=True)
        pairs = {f"{lang}->{lang}": n for lang, n in languages.items()}
        manifest = {"counts": {"language": languages, "language_pair": pairs}}
        (out / arm / "data" / "manifest.json").write_text(json.dumps(manifest))
    return exp, out


class JudgeServer(BaseHTTPRequestHandler):
    """An OpenAI-compatible judge: prefers the answer with more words of the reference; 429 on the first
    request, and a malformed verdict the first time it sees each rubric prompt of the 'qac' language."""

    requests: list[dict] = []
    seen: set[str] = set()
    throttled = False
    plain = False  # only valid verdicts, slowly (the SIGKILL test)

    def do_POST(self):  # noqa: N802 (http.server's name)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        JudgeServer.requests.append(body)
        if JudgeServer.plain:
            time.sleep(0.05)
            content = json.dumps({"winner": "tie"} if "[Answer A]" in body["messages"][0]["content"] else RUBRIC)
            return self._send(200, {"choices": [{"message": {"role": "assistant", "content": content}}]})
        if not JudgeServer.throttled:
            JudgeServer.throttled = True
            return self._send(429, {"error": "slow down"}, {"Retry-After": "0"})
        prompt = body["messages"][0]["content"]
        reference = re.search(r"\[Reference answer\]\n(.*?)\n\[End of reference\]", prompt, re.S).group(1)
        words = set(reference.split())

        def overlap(text: str) -> int:
            return len(words & set(text.split()))

        if "[Answer A]" in prompt:
            a = re.search(r"\[Answer A\]\n(.*?)\n\[End of answer A\]", prompt, re.S).group(1)
            b = re.search(r"\[Answer B\]\n(.*?)\n\[End of answer B\]", prompt, re.S).group(1)
            winner = "A" if overlap(a) > overlap(b) else "B" if overlap(b) > overlap(a) else "tie"
            content = json.dumps({"winner": winner, "rationale": "overlap"})
        elif "(qac)" in prompt and prompt not in JudgeServer.seen:
            JudgeServer.seen.add(prompt)
            content = "I would rate it highly!"  # not JSON: the judge step asks again
        else:
            answer = re.search(r"\[Assistant's answer\]\n(.*?)\n\[End of answer\]", prompt, re.S).group(1)
            score = min(5, 1 + overlap(answer))
            content = json.dumps({aspect: score for aspect in RUBRIC})
        self._send(200, {"choices": [{"message": {"role": "assistant", "content": content}}]})

    def _send(self, code: int, payload: dict, headers: dict | None = None):
        data = json.dumps(payload).encode()
        self.send_response(code)
        for key, value in {"Content-Type": "application/json", **(headers or {})}.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def judge_server():
    JudgeServer.requests, JudgeServer.seen, JudgeServer.throttled, JudgeServer.plain = [], set(), False, False
    server = ThreadingHTTPServer(("127.0.0.1", 0), JudgeServer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


def read_rows(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_http_judge_end_to_end_with_429_and_malformed_verdicts(tiny_lab_model, tmp_path, judge_server, monkeypatch):
    from xinstruct.evaluate.judge.run import judge_experiment
    from xinstruct.report.build import make_report

    monkeypatch.setenv("JUDGE_KEY", "sk-test-secret")
    judge = {"backend": "openai", "model": "judge-model", "base_url": judge_server, "api_key_env": "JUDGE_KEY",
             "limit": 4, "max_new_tokens": 6, "concurrency": 3}  # fmt: skip
    exp, out = experiment_with_judge(tmp_path, tiny_lab_model, judge)
    cache = tmp_path / "cache"
    judge_experiment(exp, out, cache, tiny_lab_model)
    rubric_prompts = 2 * 3 * 4  # arms x languages x prompts
    pairwise_prompts = 1 * 3 * 4 * 2  # pinch vs english_only, both orders
    malformed = len(JudgeServer.seen)  # distinct qac rubric prompts, each answered badly once, then asked again
    assert 1 <= malformed <= 8 and len(JudgeServer.requests) == 1 + rubric_prompts + pairwise_prompts + malformed
    rows = read_rows(out / "pinch" / "judge" / "metrics.csv")
    got = {(r["task"], r["language"], r["metric"]): float(r["value"]) for r in rows}
    assert {("judge_rubric", "qac", "rubric_mean"), ("judge_pairwise", "en", "score")} <= set(got)
    assert got[("judge_rubric", "qac", "judge_failures")] == 0.0  # malformed once, then valid: not a failure
    assert all(0 <= v <= 1 for v in got.values())
    assert not any(r["task"] == "judge_pairwise" for r in read_rows(out / "english_only" / "judge" / "metrics.csv"))
    record = json.loads((out / "pinch" / "judge" / "predictions.jsonl").read_text().splitlines()[-1])
    assert record["partner"] == "english_only" and len(record["verdicts"]) == 2 and "score" in record["scores"]
    for path in out.rglob("*"):  # the key never reaches a file
        if path.is_file():
            assert b"sk-test-secret" not in path.read_bytes()
    for path in cache.rglob("*"):
        if path.is_file():
            assert b"sk-test-secret" not in path.read_bytes()
    JudgeServer.requests.clear()
    judge_experiment(exp, out, cache, tiny_lab_model)  # everything cached: nothing asked
    assert JudgeServer.requests == []
    make_report(out, "accuracy", title="judged")
    md = (out / "report.md").read_text()
    assert "## judge_pairwise: score" in md and "## judge_rubric: rubric_mean" in md
    assert "Judge win rates" in (out / "report.html").read_text()


def test_killed_judge_step_resumes_without_asking_again(tiny_lab_model, tmp_path, judge_server, monkeypatch):
    from xinstruct.evaluate.judge import run

    judge = {"backend": "openai", "model": "m", "base_url": judge_server, "limit": 4, "modes": ["rubric"],
             "max_new_tokens": 6, "max_retries": 1, "concurrency": 1}  # fmt: skip
    exp, out = experiment_with_judge(tmp_path, tiny_lab_model, judge)
    monkeypatch.setattr(run, "CHUNK", 4)
    calls = {"n": 0}
    from xinstruct.evaluate.judge import backends

    real = backends.HTTPJudge.answer

    def dies_after_two_chunks(self, conversations, description="judging"):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # killed mid-way
        return real(self, conversations, description)

    monkeypatch.setattr(backends.HTTPJudge, "answer", dies_after_two_chunks)
    with pytest.raises(KeyboardInterrupt):
        run.judge_experiment(exp, out, tmp_path / "cache", tiny_lab_model)
    assert not (out / "english_only" / "judge").exists()  # nothing half-written
    first = len(JudgeServer.requests)
    monkeypatch.setattr(backends.HTTPJudge, "answer", real)
    JudgeServer.requests.clear()
    run.judge_experiment(exp, out, tmp_path / "cache", tiny_lab_model)
    total = 2 * 3 * 4
    assert first == 1 + 8  # the 429, then two chunks of 4 committed before the kill
    assert len(JudgeServer.requests) == total - 8 + len(JudgeServer.seen)  # the rest, and qac's second tries


def test_local_model_judge_on_the_lab_counts_its_failures(tiny_lab_model, tmp_path):
    """The tiny lab model as judge: it cannot write JSON, so every verdict fails after the retries, and says so."""
    from xinstruct.evaluate.judge import backends
    from xinstruct.evaluate.judge.run import judge_experiment

    judge = {"backend": "hf", "model": "lab", "limit": 3, "max_new_tokens": 6, "max_tokens": 12, "retries": 1}
    exp, out = experiment_with_judge(tmp_path, tiny_lab_model, judge)
    asked = []
    real = backends.HFJudge.answer
    backends.HFJudge.answer = lambda self, c, d="": asked.append(len(c)) or real(self, c, d)
    try:
        judge_experiment(exp, out, tmp_path / "cache", tiny_lab_model)
        n_first = sum(asked)
        asked.clear()
        judge_experiment(exp, out, tmp_path / "cache", tiny_lab_model)
    finally:
        backends.HFJudge.answer = real
    assert n_first == 2 * (2 * 3 * 3 + 3 * 3 * 2) and sum(asked) == 0  # every verdict asked twice; rerun: cached
    rows = read_rows(out / "pinch" / "judge" / "metrics.csv")
    failures = {(r["task"], r["language"]): float(r["value"]) for r in rows if r["metric"] == "judge_failures"}
    assert set(failures.values()) == {1.0} and len(failures) == 6  # counted, never silently dropped
    record = json.loads((out / "pinch" / "judge" / "predictions.jsonl").read_text().splitlines()[0])
    # a failed verdict: counted, no aspect scores (the measured line pass `lpr` may stand beside it)
    assert record["scores"]["judge_failures"] == 1.0 and set(record["scores"]) <= {"judge_failures", "lpr"}
    assert isinstance(record["verdict"], str)


def test_judge_config_errors(tmp_path):
    import yaml

    from xinstruct.config import Experiment

    raw = yaml.safe_load(TINY_EXPERIMENT)
    with pytest.raises(ValueError, match="needs judge.base_url"):
        Experiment.model_validate({**raw, "judge": {"backend": "openai", "model": "m"}})
    with pytest.raises(ValueError, match="pairwise_against: no arm 'nope'"):
        Experiment.model_validate({**raw, "judge": {"model": "lab", "pairwise_against": "nope"}})


def test_sigkilled_judge_command_resumes_from_its_cache(tiny_lab_model, tmp_path, judge_server):
    """`xinstruct judge` killed with SIGKILL mid-way: the rerun asks the endpoint only what was not committed."""
    import yaml

    JudgeServer.plain = True
    judge = {"backend": "openai", "model": "m", "base_url": judge_server, "limit": 4, "concurrency": 1,
             "max_new_tokens": 6}  # fmt: skip
    exp, out = experiment_with_judge(tmp_path, tiny_lab_model, judge)
    raw = yaml.safe_load(TINY_EXPERIMENT)
    raw["judge"] = judge
    exp_file = tmp_path / "exp.yaml"
    exp_file.write_text(yaml.safe_dump(raw))
    cache, db = tmp_path / "cache", tmp_path / "cache" / "eval_requests.sqlite"
    args = [sys.executable, "-m", "xinstruct.cli", "judge", str(exp_file), "--out", str(out), "--cache-dir", str(cache)]
    total = 2 * 3 * 4 + 3 * 4 * 2  # rubric (arms x languages x prompts) + pairwise (both orders)
    with open(tmp_path / "log.txt", "w") as log:
        proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.time() + 300
        while proc.poll() is None and time.time() < deadline:
            if 16 <= cached_requests(db, "judge@") < total:  # a chunk or more committed, more to come
                os.kill(proc.pid, signal.SIGKILL)
                break
            time.sleep(0.02)
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, (tmp_path / "log.txt").read_text()[-2000:]
    cached = cached_requests(db, "judge@")
    assert not (out / "pinch" / "judge").exists()  # nothing half-written
    JudgeServer.requests.clear()
    rerun = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stdout[-2000:] + rerun.stderr[-2000:]
    assert len(JudgeServer.requests) == total - cached and cached_requests(db, "judge@") == total
    assert (out / "pinch" / "judge" / "metrics.csv").exists() and (out / "report.html").exists()

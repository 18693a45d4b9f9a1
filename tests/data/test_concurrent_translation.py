"""Concurrent endpoint translation: bounded requests in flight, order, per-batch commits, resume, key hygiene,
clear errors and Retry-After, against a real local chat server that counts the requests it is serving."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.data.chat_endpoint import fake_translation as fake
from tests.data.chat_endpoint import send_reply
from xinstruct.config import TranslatorConfig
from xinstruct.data.translate import make_translator
from xinstruct.data.translate.cache import TranslationCache, text_sha256
from xinstruct.errors import DataError, XinstructError

KEY = "sk-test-concurrent-4e8b1d9a"  # a fake API key that must never reach a log, the cache or an output
TEXTS = [f"Sentence number {i} is about topic {i % 7}." for i in range(40)]
MIXED = [
    "Hello world.",
    "See `x = 1` here, at https://a.org.\nThen a second line.",
    "Hello world.",  # a duplicate: one request, both places
    "{name} waits.",
    "",
]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # many clients connecting at once


class CountingServer:
    """/v1/chat/completions on 127.0.0.1 that counts the requests it is serving at once (each takes `delay` s).

    Scripted replies are served first; after `fail_after` requests every one fails with `failure`. It stops
    by itself after `lifetime` s, should a test hang."""

    def __init__(self, delay: float = 0.02, fail_after: int | None = None, lifetime: float = 120.0):
        self.delay, self.fail_after = delay, fail_after
        self.failure: tuple[int, dict, bytes] = (500, {}, b'{"error": "down"}')
        self.script: list[tuple[int, dict, bytes]] = []
        self.requests: list[dict] = []  # {"segment", "headers" (lower-cased names), "t"}
        self.answered: list[str] = []  # segments answered 200
        self.in_flight = self.max_in_flight = 0
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                segment = body["messages"][-1]["content"]
                with server.lock:
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                    headers = {k.lower(): v for k, v in self.headers.items()}
                    server.requests.append({"segment": segment, "headers": headers, "t": time.monotonic()})
                    n = len(server.requests)
                    reply = server.script.pop(0) if server.script else None
                time.sleep(server.delay)
                if reply is None and server.fail_after is not None and n > server.fail_after:
                    reply = server.failure
                if reply is None:
                    content = {"choices": [{"message": {"role": "assistant", "content": fake(segment)}}]}
                    reply = (200, {}, json.dumps(content).encode())
                    with server.lock:
                        server.answered.append(segment)
                with server.lock:  # before replying: the client has this request in flight until it reads the reply
                    server.in_flight -= 1
                send_reply(self, reply)

            def log_message(self, *args):
                pass

        self.httpd = _Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.timer = threading.Timer(lifetime, self.httpd.shutdown)
        self.timer.daemon = True

    def __enter__(self) -> CountingServer:
        self.thread.start()
        self.timer.start()
        return self

    def __exit__(self, *exc) -> None:
        self.timer.cancel()
        self.httpd.shutdown()
        self.httpd.server_close()

    def segments(self, since: int = 0) -> list[str]:
        return [r["segment"] for r in self.requests[since:]]


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("XI_TEST_KEY", KEY)


def _translator(url: str, cache_dir: Path, **kw):
    cfg = TranslatorConfig(backend="openai", model="mt-7b", base_url=url, api_key_env="XI_TEST_KEY", **kw)
    return make_translator(cfg, cache_dir, progress=False)


def _cached_shas(cache: Path) -> set[str]:
    """sha256s committed to a translation cache file (read-only: another process may be writing it)."""
    try:
        with contextlib.closing(sqlite3.connect(f"file:{cache}?mode=ro", uri=True, timeout=5)) as conn:
            return {row[0] for row in conn.execute("SELECT sha256 FROM translations")}
    except sqlite3.OperationalError:  # not created yet
        return set()


def _files_bytes(*dirs: Path) -> bytes:
    return b"".join(p.read_bytes() for d in dirs for p in d.rglob("*") if p.is_file())


# -- bounded concurrency, order, per-batch commits -------------------------------------------------------


def test_at_most_concurrency_in_flight_same_outputs_in_order_and_commits_per_batch(tmp_path, monkeypatch):
    commits: list[int] = []  # segments per cache transaction
    real_put = TranslationCache.put_many

    def put_many(self, key, items):
        items = list(items)
        commits.append(len(items))
        real_put(self, key, items)

    monkeypatch.setattr(TranslationCache, "put_many", put_many)
    texts = TEXTS + MIXED
    with CountingServer(delay=0.05) as server:
        one = _translator(server.url, tmp_path / "one", concurrency=1, batch_size=4)
        sequential = one.translate_texts(texts, "en", "de")
        assert server.max_in_flight == 1
        commits_sequential, commits[:] = list(commits), []

        server.max_in_flight = 0
        eight = _translator(server.url, tmp_path / "eight", concurrency=8, batch_size=4)
        concurrent = eight.translate_texts(texts, "en", "de")
        assert 1 < server.max_in_flight <= 8
        assert concurrent == sequential
    segments = len(TEXTS) + 5  # MIXED: "Hello world.", "See", "here, at", "Then a second line.", "waits."
    assert sequential[: len(TEXTS)] == [fake(t) for t in TEXTS]
    assert concurrent[len(TEXTS) :] == [
        fake("Hello world."),
        f"{fake('See')} `x = 1` {fake('here, at')} https://a.org.\n{fake('Then a second line.')}",
        fake("Hello world."),
        f"{{name}} {fake('waits.')}",
        "",
    ]
    assert len(server.requests) == 2 * segments  # each unique segment once per translator
    assert commits == commits_sequential == [4] * (segments // 4) + [segments % 4] * bool(segments % 4)
    assert eight.stats.misses == segments and eight.stats.hits == 0


def test_concurrency_speeds_up_a_slow_endpoint(tmp_path):
    texts = TEXTS + [f"Another sentence, number {i}." for i in range(40)]
    seconds = {}
    with CountingServer(delay=0.02) as server:
        for concurrency in (1, 8):
            translator = _translator(server.url, tmp_path / str(concurrency), concurrency=concurrency)
            t0 = time.perf_counter()
            assert translator.translate_texts(texts, "en", "fr") == [fake(t) for t in texts]
            seconds[concurrency] = time.perf_counter() - t0
    assert seconds[8] * 2.5 < seconds[1], seconds  # ~8x on a fast machine; 2.5x leaves room for a loaded CI


def test_config_field_is_documented_and_bounded():
    field = TranslatorConfig.model_fields["concurrency"]
    assert field.default == 8 and "in flight" in field.description
    with pytest.raises(ValueError, match="concurrency"):
        TranslatorConfig(backend="openai", model="m", base_url="http://x/v1", concurrency=0)


# -- resume: committed work is never asked for again --------------------------------------------------------


def test_failing_endpoint_keeps_every_answer_and_the_rerun_sends_only_the_rest(tmp_path):
    cache_dir = tmp_path / "cache"
    with CountingServer(delay=0.03, fail_after=17) as server:
        with pytest.raises(DataError, match=r"HTTP 500 .*gave up after 1 attempts"):
            _translator(server.url, cache_dir, concurrency=8, batch_size=4, max_retries=0).translate_texts(
                TEXTS, "en", "de"
            )
        answered = set(server.answered)
    assert len(answered) == 17
    cached = _cached_shas(cache_dir / "translations.sqlite")
    assert cached == {text_sha256(s) for s in answered}  # every answer committed, even those after the error

    with CountingServer(delay=0.01) as server:
        out = _translator(server.url, cache_dir, concurrency=8, batch_size=4).translate_texts(TEXTS, "en", "de")
        resent = server.segments()
    assert out == [fake(t) for t in TEXTS]
    assert not {text_sha256(s) for s in resent} & cached and len(resent) == len(TEXTS) - 17


SCRIPT = """
import sys
from xinstruct.config import TranslatorConfig
from xinstruct.data.translate import make_translator
cfg = TranslatorConfig(backend="openai", model="mt-7b", base_url=sys.argv[1], api_key_env="XI_TEST_KEY",
                       concurrency=8, batch_size=4)
texts = [f"Sentence number {i} is about topic {i % 7}." for i in range(40)]
make_translator(cfg, sys.argv[2], progress=False).translate_texts(texts, "en", "de")
print("done")
"""


def test_sigkilled_run_resumes_without_resending_a_committed_segment(tmp_path):
    cache_dir = tmp_path / "cache"
    db = cache_dir / "translations.sqlite"
    env = {**os.environ, "XI_TEST_KEY": KEY, "NO_PROXY": "127.0.0.1,localhost"}
    with CountingServer(delay=0.1) as server:
        proc = subprocess.Popen([sys.executable, "-c", SCRIPT, server.url, str(cache_dir)], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
        deadline = time.monotonic() + 60
        while len(_cached_shas(db)) < 8 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        cached = _cached_shas(db)
        assert 8 <= len(cached) < len(TEXTS) and len(cached) % 4 == 0  # whole batches of batch_size
        time.sleep(0.5)  # requests the killed process had already sent still reach the server
        before = len(server.requests)
        out = _translator(server.url, cache_dir, concurrency=8, batch_size=4).translate_texts(TEXTS, "en", "de")
        resent = server.segments(before)
    assert out == [fake(t) for t in TEXTS]
    assert not {text_sha256(s) for s in resent} & cached  # zero committed segments asked for again
    assert len(resent) == len(TEXTS) - len(cached)


# -- the key, errors, Retry-After ----------------------------------------------------------------------


def test_key_only_in_the_authorization_header(tmp_path, caplog, capfd, monkeypatch):
    monkeypatch.setenv("OPENAI_ORG_ID", "org-private")  # the SDK's own defaults are not sent to this endpoint
    caplog.set_level(logging.DEBUG)  # the SDK's and httpx2's loggers included
    with CountingServer() as server:
        server.script = [(429, {"Retry-After": "0.1"}, b"{}")]
        out = _translator(server.url, tmp_path / "cache", concurrency=8).translate_texts(TEXTS[:12], "en", "de")
        server.script = [(401, {}, b'{"error": "bad key"}')]
        with pytest.raises(DataError) as e:
            _translator(server.url, tmp_path / "cache", concurrency=8).translate_texts(["Fresh text."], "en", "de")
    assert out == [fake(t) for t in TEXTS[:12]]
    assert all(r["headers"]["authorization"] == f"Bearer {KEY}" for r in server.requests)
    assert not any("openai-organization" in r["headers"] or "openai-project" in r["headers"] for r in server.requests)
    captured = capfd.readouterr()
    seen = caplog.text + captured.out + captured.err + str(e.value) + "".join(out)
    assert KEY not in seen and KEY.encode() not in _files_bytes(tmp_path)


def test_no_key_sends_no_authorization_header(tmp_path, monkeypatch):
    monkeypatch.delenv("XI_TEST_KEY")
    with CountingServer() as server:
        assert _translator(server.url, tmp_path).translate_texts(["Hi there."], "en", "de") == [fake("Hi there.")]
    assert "authorization" not in server.requests[0]["headers"]


def test_unauthorized_and_malformed_replies_are_one_line_errors(tmp_path):
    with CountingServer() as server:
        for reply, pattern in [
            (
                (401, {}, b'{"error": "bad key"}'),
                r"/v1/chat/completions: HTTP 401 Unauthorized; check that \$XI_TEST_KEY",
            ),
            ((403, {}, b"{}"), r"HTTP 403 Forbidden; check that \$XI_TEST_KEY"),
            ((200, {}, b"<html>not json</html>"), r"/v1/chat/completions: malformed response .*not json"),
            ((200, {}, b'{"choices": []}'), r"malformed response .*IndexError"),
            ((200, {}, b'{"choices": [{"message": {"content": null}}]}'), r"malformed response .*not a string"),
        ]:
            server.script = [reply]
            with pytest.raises(XinstructError, match=pattern) as e:
                _translator(server.url, tmp_path, concurrency=8).translate_texts(TEXTS[:5], "en", "de")
            assert "\n" not in str(e.value) and e.value.__suppress_context__ and KEY not in str(e.value)


def test_cli_prints_the_error_without_a_traceback(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text('{"prompt": "Hi?", "completion": "Hello."}\n')
    env = {**os.environ, "OPENAI_API_KEY": KEY, "NO_PROXY": "127.0.0.1,localhost", "XINSTRUCT_CACHE": str(tmp_path)}
    with CountingServer() as server:
        server.fail_after, server.failure = 0, (401, {}, b'{"error": "bad key"}')
        args = [sys.executable, "-m", "xinstruct.cli", "data", "translate", str(src), "--format", "prompt_completion"]
        args += ["--to", "de", "--base-url", server.url, "--model", "mt", "--out", str(tmp_path / "out.jsonl")]
        done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "HTTP 401 Unauthorized" in done.stderr
    assert "Traceback" not in done.stderr and KEY not in done.stderr + done.stdout


def test_429_retry_after_is_honoured_and_a_too_long_one_is_a_clear_error(tmp_path):
    with CountingServer(delay=0.0) as server:
        server.script = [(429, {"Retry-After": "1"}, b'{"error": "slow down"}')]
        assert _translator(server.url, tmp_path, concurrency=8).translate_texts(["Hi there."], "en", "de") == [
            fake("Hi there.")
        ]
        first, retry = server.requests
        assert retry["t"] - first["t"] >= 0.95  # the server's second, not the SDK's 0.5 s first backoff
        assert retry["headers"]["x-stainless-retry-count"] == "1"

        server.script = [(503, {"Retry-After": "600"}, b"{}")]
        with pytest.raises(
            DataError, match=r"HTTP 503 Service Unavailable, not retried after attempt 1: its Retry-After"
        ):
            _translator(server.url, tmp_path, concurrency=8).translate_texts(["Other text."], "en", "de")
        assert len(server.requests) == 3


def test_connection_refused_and_timeout_are_clear_errors(tmp_path):
    with contextlib.closing(socket.socket()) as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(DataError, match=r"cannot connect \(ConnectError.*gave up after 2 attempts"):
        _translator(f"http://127.0.0.1:{port}/v1", tmp_path, max_retries=1).translate_texts(["Hi."], "en", "de")
    with CountingServer(delay=1.0) as server:
        with pytest.raises(DataError, match=r"no reply within timeout=0.2 s, gave up after 1 attempts"):
            _translator(server.url, tmp_path, max_retries=0, timeout=0.2).translate_texts(["Hi."], "en", "de")

"""The translation stage: protection, cache, backends (tiny Marian, a real local chat server, the lab), CLI resume."""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import TINY_EXPERIMENT
from tests.data.chat_endpoint import fake_translation, send_reply
from xinstruct.config import TranslatorConfig, parse_experiment
from xinstruct.data.schema import Example, chat
from xinstruct.data.translate import Translator, make_translator
from xinstruct.data.translate.backends import Backend, HFBackend, flores_code, short_code
from xinstruct.data.translate.cache import TranslationCache
from xinstruct.data.translate.protect import protected_spans, split_text
from xinstruct.errors import ConfigError, DataError, XinstructError

KEY = "sk-test-7f3a9c1e5b2d"  # a fake API key that must never reach the disk

TRICKY = [
    "Run `pip install x` then open https://example.com/a_(b)?q=1.",
    "Use {name} and {{ user }} and %s and %(count)d and {0:>5}: <b>bold</b> text.",
    "Intro:\n```python\nprint('hello world')\n```\nOutro with <br/> and www.example.org, ok?",
    "  leading and trailing  \n\n  second paragraph\t",
    "Mail a.b@example.com; 50% off, 100%. Also ${HOME} and <|im_start|>.",
    "Unclosed fence ```\ncode forever {x}",
    "",
    "   ",
    "123 + 456 = 579",
]
PROTECTED = [
    "`pip install x`",
    "https://example.com/a_(b)?q=1",
    "{name}",
    "{{ user }}",
    "%s",
    "%(count)d",
    "{0:>5}",
    "<b>",
    "</b>",
    "```python\nprint('hello world')\n```",
    "<br/>",
    "www.example.org",
    "a.b@example.com",
    "${HOME}",
    "<|im_start|>",
    "```\ncode forever {x}",
]


class FakeBackend(Backend):
    name = "fake"

    def __init__(self, fn):
        self.fn = fn
        self.seen: list[list[str]] = []

    def cache_model(self, src, tgt):
        return "fake-model"

    def translate_batch(self, texts, src, tgt):
        self.seen.append(list(texts))
        return [self.fn(t, tgt) for t in texts]


def _garble(text, tgt):
    return "~" + " ".join(w[::-1].upper() for w in text.split()) + f" ({tgt})~"


def _translator(tmp_path, fn, batch_size=4, name="cache.sqlite"):
    backend = FakeBackend(fn)
    return Translator(backend, TranslationCache(tmp_path / name), batch_size, progress=False), backend


# -- 1. protection ------------------------------------------------------------------------------


def test_split_round_trips_and_identity_backend_changes_nothing(tmp_path):
    rng = random.Random(0)
    alphabet = "ab Z1.,:;!?`{}%()<>/\\|$#@_-\n\t~'\"" + "éß中"
    fuzz = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60))) for _ in range(500)]
    for text in TRICKY + fuzz:
        pieces = split_text(text)
        assert "".join(p.text for p in pieces) == text
        for p in pieces:
            if p.translate:
                assert p.text == p.text.strip() and "\n" not in p.text and any(c.isalpha() for c in p.text)
    translator, _ = _translator(tmp_path, lambda t, tgt: t)
    assert translator.translate_texts(TRICKY + fuzz, "en", "de") == TRICKY + fuzz


def test_protected_spans_survive_a_garbling_backend_and_are_never_sent(tmp_path):
    translator, backend = _translator(tmp_path, _garble)
    out = translator.translate_texts(TRICKY, "en", "de")
    joined = "\n".join(out)
    for span in PROTECTED:
        assert span in joined, span
    sent = [t for batch in backend.seen for t in batch]
    for span in PROTECTED:
        assert not any(span in t for t in sent), span
    assert not any(re.search(r"https?://|`|\{|%s|<", t) for t in sent)
    assert out[0] == "~NUR (de)~ `pip install x` ~NEHT NEPO (de)~ https://example.com/a_(b)?q=1."
    assert out[3] == "  ~GNIDAEL DNA GNILIART (de)~  \n\n  ~DNOCES HPARGARAP (de)~\t"  # whitespace kept
    assert out[6:] == ["", "   ", "123 + 456 = 579"]  # nothing to translate: not sent at all
    for before, after in zip(TRICKY, out, strict=True):  # every protected span, in order, byte-identical
        pos = 0
        for a, b in protected_spans(before):
            pos = after.index(before[a:b], pos) + (b - a)
    assert "; 50% off, 100%. Also" in sent  # a percent sign is prose, not a placeholder


def test_src_equals_tgt_and_examples_use_one_call_per_source_language(tmp_path, monkeypatch):
    translator, backend = _translator(tmp_path, lambda t, tgt: f"{tgt}:{t}")
    assert translator.translate_texts(["Hello."], "de", "de") == ["Hello."] and not backend.seen
    examples = [
        Example("a", chat("Hello there.", "Hallo."), "s", "en", "de"),  # response already German
        Example("b", chat("Good day.", "Bye."), "s", "en", "en"),
        Example("c", chat("Bonjour.", "Salut."), "s", "fr", "fr"),
    ]
    calls = []
    original = Translator.translate_texts
    monkeypatch.setattr(Translator, "translate_texts", lambda self, t, s, g: calls.append(s) or original(self, t, s, g))
    out = translator.translate_examples(examples, "de")
    assert sorted(calls) == ["de", "en", "fr"]  # one call per source language, whatever the list's length
    assert [ex.id for ex in out] == ["a-de", "b-de", "c-de"]
    assert [(ex.lang, ex.response_lang, ex.translated_from) for ex in out] == [("de", "de", x) for x in "abc"]
    assert [(ex.prompt, ex.response) for ex in out] == [
        ("de:Hello there.", "Hallo."),
        ("de:Good day.", "de:Bye."),
        ("de:Bonjour.", "de:Salut."),
    ]


def test_cache_is_keyed_by_languages_and_skips_hits(tmp_path):
    translator, backend = _translator(tmp_path, lambda t, tgt: f"{tgt}:{t}", batch_size=2)
    texts = ["one two", "three", "one two", "four five six"]
    assert translator.translate_texts(texts, "en", "de") == ["de:one two", "de:three", "de:one two", "de:four five six"]
    assert [len(b) for b in backend.seen] == [2, 1]  # unique segments, longest first, in batches
    assert translator.translate_texts(texts, "en", "fr")[0] == "fr:one two"
    again, backend2 = _translator(tmp_path, lambda t, tgt: "WRONG")
    assert again.translate_texts(texts[::-1], "en", "de") == [
        "de:four five six",
        "de:one two",
        "de:three",
        "de:one two",
    ]
    assert backend2.seen == [] and again.stats.hits == 3 and again.stats.misses == 0


# -- 2. a tiny Marian model ---------------------------------------------------------------------

WORDS = "hello world the cat sat on mat good morning how are you a dog".split()


@pytest.fixture(scope="module")
def tiny_marian(tmp_path_factory) -> Path:
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import MarianConfig, MarianMTModel, PreTrainedTokenizerFast

    specials = ["<pad>", "</s>", "<unk>"]
    vocab = {t: i for i, t in enumerate(specials + WORDS)}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>")
    torch.manual_seed(0)
    config = MarianConfig(
        vocab_size=len(vocab),
        decoder_vocab_size=len(vocab),
        d_model=32,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=32,
        decoder_ffn_dim=32,
        max_position_embeddings=64,
        pad_token_id=0,
        eos_token_id=1,
        decoder_start_token_id=0,
        forced_eos_token_id=None,
    )
    model = MarianMTModel(config)
    with torch.no_grad():
        model.final_logits_bias[0, :3] = -1e4  # never emit pad/eos/unk: outputs are real words, max_length long
    path = tmp_path_factory.mktemp("mt") / "opus-mt-en-de"  # a Marian-style name, reached through a pattern
    model.save_pretrained(path, safe_serialization=True)
    tokenizer.save_pretrained(path)
    return path


def test_tiny_marian_translates_batched_cached_and_order_preserving(tiny_marian, tmp_path, monkeypatch):
    from transformers import MarianMTModel

    calls = []
    generate = MarianMTModel.generate
    monkeypatch.setattr(MarianMTModel, "generate", lambda self, **kw: calls.append(kw) or generate(self, **kw))
    pattern = str(tiny_marian.parent / "opus-mt-{src}-{tgt}")
    texts = ["hello world", "the cat sat on the mat", "good morning", "how are you", "hello world", "a dog"]

    def run(batch_size, cache_dir):
        cfg = TranslatorConfig(backend="hf", model=pattern, batch_size=batch_size, max_length=8)
        return make_translator(cfg, cache_dir, progress=False)

    one = run(1, tmp_path / "c1")
    out1 = one.translate_texts(texts, "en", "de")
    assert len(calls) == 5 and all(kw["num_beams"] == 1 and kw["max_new_tokens"] == 8 for kw in calls)
    assert all(isinstance(t, str) and t for t in out1) and out1[0] == out1[4]
    assert all(set(t.split()) <= set(WORDS) for t in out1)
    many = run(4, tmp_path / "c4")
    assert many.translate_texts(texts, "en", "de") == out1  # batch-size independent
    assert len(calls) == 7
    reversed_out = run(3, tmp_path / "c3").translate_texts(texts[::-1], "en", "de")
    assert reversed_out == out1[::-1]  # order restored whatever the length sorting did

    rows = sqlite3.connect(tmp_path / "c1" / "translations.sqlite").execute("SELECT backend, model FROM translations")
    rows = rows.fetchall()
    assert len(rows) == 5 and {r[0] for r in rows} == {"hf"}
    assert {r[1] for r in rows} == {f"{tiny_marian}|num_beams=1|max_length=8"}
    calls.clear()
    again = run(1, tmp_path / "c1")
    assert again.translate_texts(texts, "en", "de") == out1
    assert calls == [] and again.backend._loaded is None  # all from the cache: the model is not even loaded
    assert again.stats.hits == 5 and again.stats.misses == 0


def test_language_codes_for_nllb_and_m2m100():
    assert [flores_code(t) for t in ("de", "zh", "zh-TW", "ar", "sw", "en-US", "sr-Latn")] == [
        "deu_Latn",
        "zho_Hans",
        "zho_Hant",
        "arb_Arab",
        "swh_Latn",
        "eng_Latn",
        "srp_Latn",
    ]
    assert [short_code(t) for t in ("zh-Hans", "de", "pt-BR")] == ["zh", "de", "pt"]

    class NllbLike:  # what the NLLB branch needs from a tokenizer
        unk_token_id = 3
        src_lang = None
        codes = {"eng_Latn": 10, "deu_Latn": 11}

        def convert_tokens_to_ids(self, token):
            return self.codes.get(token, 3)

    backend = HFBackend(TranslatorConfig(backend="hf", model="facebook/nllb-200-distilled-600M"))
    tok = NllbLike()
    backend._loaded = ("facebook/nllb-200-distilled-600M", tok, None, "nllb")
    assert backend._language_args("en", "de") == {"forced_bos_token_id": 11} and tok.src_lang == "eng_Latn"
    with pytest.raises(DataError, match="no FLORES-200 code 'zho_Hans'"):
        backend._language_args("en", "zh")


def test_hf_model_that_cannot_be_loaded_is_a_config_error(tmp_path):
    translator = make_translator(TranslatorConfig(backend="hf", model=str(tmp_path / "nope")), tmp_path, progress=False)
    with pytest.raises(ConfigError, match="data.translator.model: cannot load"):
        translator.translate_texts(["hello"], "en", "de")


# -- 3. an OpenAI-compatible endpoint (a real local HTTP server) ---------------------------------


class ChatServer:
    """/v1/chat/completions on 127.0.0.1: records requests, serves scripted errors first, then translations."""

    def __init__(self, delay: float = 0.0):
        self.delay = delay
        self.requests: list[dict] = []
        self.script: list[tuple[int, dict, bytes]] = []
        self.always: tuple[int, dict, bytes] | None = None
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                with server.lock:
                    server.requests.append(
                        {"path": self.path, "authorization": self.headers.get("Authorization"), "body": json.loads(raw)}
                    )
                    reply = server.script.pop(0) if server.script else server.always
                if reply is None:
                    time.sleep(server.delay)
                    content = fake_translation(json.loads(raw)["messages"][-1]["content"])
                    body = {"choices": [{"index": 0, "message": {"role": "assistant", "content": content}}]}
                    reply = (200, {}, json.dumps(body).encode())
                send_reply(self, reply)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()

    def segments(self) -> list[str]:
        return [r["body"]["messages"][-1]["content"] for r in self.requests]


@pytest.fixture
def chat_server(monkeypatch):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    with ChatServer() as server:
        yield server


def _openai(url, cache_dir, **kw):
    cfg = TranslatorConfig(backend="openai", model="mt-7b", base_url=url, api_key_env="XI_TEST_KEY", **kw)
    return make_translator(cfg, cache_dir, progress=False)


def _files_bytes(*dirs: Path) -> bytes:
    return b"".join(p.read_bytes() for d in dirs for p in d.rglob("*") if p.is_file())


def test_openai_request_key_and_cache(chat_server, tmp_path, monkeypatch):
    monkeypatch.setenv("XI_TEST_KEY", KEY)
    translator = _openai(chat_server.url, tmp_path / "cache")
    out = translator.translate_texts(["Hello world.", "See `x = 1` here, at https://a.org."], "en", "de")
    assert out == ["<<HELLO WORLD.>>", "<<SEE>> `x = 1` <<HERE, AT>> https://a.org."]
    first = chat_server.requests[0]
    assert first["path"] == "/v1/chat/completions" and first["authorization"] == f"Bearer {KEY}"
    body = first["body"]
    assert body["model"] == "mt-7b" and [m["role"] for m in body["messages"]] == ["system", "user"]
    assert "German" in body["messages"][0]["content"] and "translation only" in body["messages"][0]["content"]
    assert sorted(chat_server.segments()) == ["Hello world.", "See", "here, at"]
    assert _openai(chat_server.url, tmp_path / "cache").translate_texts(["Hello world."], "en", "de") == [out[0]]
    assert len(chat_server.requests) == 3  # the second translator found it in the cache
    translator.close()
    assert KEY.encode() not in _files_bytes(tmp_path / "cache")


def test_openai_retries_429_then_gives_up_clearly(chat_server, tmp_path, monkeypatch):
    monkeypatch.setenv("XI_TEST_KEY", KEY)
    chat_server.script = [(429, {"Retry-After": "0"}, b'{"error": "slow down"}'), (503, {"Retry-After": "0"}, b"")]
    assert _openai(chat_server.url, tmp_path).translate_texts(["Hi there."], "en", "fr") == ["<<HI THERE.>>"]
    assert len(chat_server.requests) == 3
    chat_server.always = (429, {"Retry-After": "0"}, b"{}")
    with pytest.raises(DataError, match=r"/v1/chat/completions: HTTP 429 .*gave up after 3 attempts"):
        _openai(chat_server.url, tmp_path, max_retries=2).translate_texts(["Other text."], "en", "fr")
    assert len(chat_server.requests) == 6  # the wait honours Retry-After: tests/data/test_concurrent_translation.py


def test_openai_malformed_and_unauthorized_responses_are_clear_errors(chat_server, tmp_path, monkeypatch):
    monkeypatch.setenv("XI_TEST_KEY", KEY)
    chat_server.script = [(200, {}, b"<html>not json</html>")]
    with pytest.raises(XinstructError, match=rf"{re.escape(chat_server.url)}/chat/completions: malformed response"):
        _openai(chat_server.url, tmp_path).translate_texts(["Hello."], "en", "de")
    chat_server.script = [(200, {}, b'{"choices": []}')]
    with pytest.raises(XinstructError, match="malformed response"):
        _openai(chat_server.url, tmp_path).translate_texts(["Hello."], "en", "de")
    chat_server.script = [(401, {}, b'{"error": "bad key"}')]
    with pytest.raises(DataError, match=r"HTTP 401.*\$XI_TEST_KEY") as e:
        _openai(chat_server.url, tmp_path).translate_texts(["Hello."], "en", "de")
    assert KEY not in str(e.value)


# -- 4. the CLI: killed mid-way, resumed without redoing cached work -----------------------------


def _cli(*args):
    return [sys.executable, "-m", "xinstruct.cli", "data", "translate", *map(str, args)]


def committed(cache: Path) -> int:
    """Translations committed to the cache file of a running process (read-only); 0 before it exists."""
    try:
        with contextlib.closing(sqlite3.connect(f"file:{cache}?mode=ro", uri=True, timeout=5)) as conn:
            return conn.execute("SELECT COUNT(*) FROM translations").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def test_cli_killed_mid_run_resumes_from_the_cache(tmp_path, monkeypatch):
    rows = [{"prompt": f"Question number {i}?", "completion": f"Answer number {i}."} for i in range(8)]
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out, cache = tmp_path / "out" / "de.jsonl", tmp_path / "tm.sqlite"
    env = {**os.environ, "OPENAI_API_KEY": KEY, "NO_PROXY": "127.0.0.1,localhost", "XINSTRUCT_CACHE": str(tmp_path)}
    with ChatServer(delay=0.25) as server:
        args = _cli(src, "--format", "prompt_completion", "--to", "de", "--base-url", server.url, "--model", "mt")
        args += ["--batch-size", "1", "--out", str(out), "--cache", str(cache)]
        proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        # 3+ segments committed, more to come (not "4 requests sent": with concurrency 8 those are all in flight)
        while committed(cache) < 3 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert not out.exists()  # nothing half-written
        cached = sqlite3.connect(cache).execute("SELECT COUNT(*) FROM translations").fetchone()[0]
        assert 3 <= cached < 16
        time.sleep(0.5)  # requests the killed process had already sent still reach the server
        before = len(server.requests)

        done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert len(server.requests) - before == 16 - cached  # cached work was not redone
        assert re.search(rf"cache hits\s*│\s*{cached}\b", done.stdout)
        assert re.search(rf"misses \(translated\)\s*│\s*{16 - cached}\b", done.stdout)
        assert sorted(server.segments()[before:]) == sorted(set(server.segments()[before:]))
    written = [json.loads(line) for line in out.read_text().splitlines()]
    assert [w["id"] for w in written] == [f"in-{i:06d}-de" for i in range(8)]
    assert [w["messages"][1]["content"] for w in written] == [fake_translation(r["completion"]) for r in rows]
    assert all(w["lang"] == "de" and w["translated_from"] for w in written)
    assert all(server_auth == f"Bearer {KEY}" for server_auth in (r["authorization"] for r in server.requests))
    leaked = _files_bytes(tmp_path) + done.stdout.encode() + done.stderr.encode()
    assert KEY.encode() not in leaked


def test_cli_bad_input_exits_2_naming_the_flag(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text('{"prompt": "Hi?", "completion": "Hello."}\n')
    no_model = subprocess.run(
        _cli(src, "--format", "prompt_completion", "--to", "de", "--backend", "hf"), capture_output=True, text=True
    )
    assert no_model.returncode == 2 and "needs `model` (--model)" in no_model.stderr
    bad_to = subprocess.run(_cli(src, "--format", "prompt_completion", "--to", "de,!!"), capture_output=True, text=True)
    assert bad_to.returncode == 2 and "--to" in bad_to.stderr
    assert not list(Path.cwd().glob("in.de*.jsonl"))


# -- 5. the lab backend -------------------------------------------------------------------------


def test_lab_backend_matches_world_translate(tmp_path):
    from xinstruct.lab.corpus import instruction_examples, translate_example
    from xinstruct.lab.world import World, WorldConfig

    config = WorldConfig(seed=0, n_people=12, languages=("en", "qaa", "qac"))
    world = World(config)
    examples = instruction_examples(world)
    translator = make_translator(TranslatorConfig.model_validate("lab"), tmp_path, config)
    assert translator.translate_examples(examples, "qac") == [translate_example(world, ex, "qac") for ex in examples]
    texts = [ex.response for ex in examples[:20]]
    assert translator.translate_texts(texts, "en", "qaa") == [world.translate(t, "qaa") for t in texts]
    assert not list(tmp_path.iterdir())  # exact and instant: not cached


# -- 6. bad input -------------------------------------------------------------------------------


def _experiment(translator: str):
    text = TINY_EXPERIMENT.replace("data:\n", f"data:\n  translator: {translator}\n")
    if translator not in ("lab", "{backend: lab}"):  # lab languages come from the lab translator alone (a guard)
        text = text.replace("languages: [qaa, qac]}", "languages: [en]}").replace("[en, qaa, qac]", "[en]")
    return parse_experiment(text, "exp.yaml")


def test_translator_config_errors_name_the_field(tmp_path):
    assert _experiment("lab").data.translator == TranslatorConfig()
    assert _experiment("{backend: hf, model: 'Helsinki-NLP/opus-mt-{src}-{tgt}'}").data.translator.backend == "hf"
    for bad in ("{backend: deepl}", "deepl"):
        with pytest.raises(ConfigError, match=r"exp.yaml:\d+: field data.translator.backend: Input should be 'lab'"):
            _experiment(bad)
    with pytest.raises(ConfigError, match=r"field data.translator: backend 'hf' needs `model`"):
        _experiment("{backend: hf}")
    with pytest.raises(ConfigError, match=r"field data.translator: backend 'openai' needs `base_url`"):
        _experiment("{backend: openai, model: m}")
    with pytest.raises(ConfigError, match=r"field data.translator.num_beams"):
        _experiment("{backend: hf, model: m, num_beams: 0}")
    with pytest.raises(ConfigError, match="api_key_env must be the NAME") as e:
        _experiment(f"{{backend: openai, model: m, base_url: http://x/v1, api_key_env: {KEY}}}")
    assert KEY not in str(e.value)

    lab = make_translator("lab", tmp_path)
    with pytest.raises(DataError, match="backend lab translates English lab text only, not 'de'"):
        lab.translate_texts(["what is the city of mitur?"], "de", "qaa")
    with pytest.raises(DataError, match="only knows lab sentences"):
        lab.translate_texts(["hello there, general kenobi."], "en", "qaa")
    with pytest.raises(DataError, match="not a language of the lab world"):
        lab.translate_texts(["what is the city of mitur?"], "en", "de")

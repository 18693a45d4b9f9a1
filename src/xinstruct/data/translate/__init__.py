"""The translation stage: examples and texts into other languages, cached, batched, resumable.

    translator = make_translator(exp.data.translator, cache_dir, exp.world_config())
    german = translator.translate_examples(examples, "de")
    texts = translator.translate_texts(["Hello!"], "en", "zh")

Each text is split into protected spans (code, URLs, placeholders, tags: returned byte-identical,
never sent to a backend) and prose segments (`protect`). Unique segments are looked up in the
SQLite cache (`cache`), only the misses are translated, longest first in batches of `batch_size`,
and every batch is committed before the next, so a killed run resumes where it stopped. A backend
with `concurrency` > 1 (a chat endpoint) gets one segment per call from that many worker threads at
once; the finished ones are committed batch_size at a time as they come in, on the calling thread,
and whatever finished is committed before an error ends the run, so a killed run still redoes only
the batch being gathered and the requests in flight. The lab backend is exact and instant and is
not cached (see `backends.LabBackend`).
"""

from __future__ import annotations

from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

from rich.progress import ProgressColumn
from rich.text import Text

from xinstruct.config import TranslatorConfig
from xinstruct.data.schema import Example
from xinstruct.data.translate.backends import Backend, make_backend
from xinstruct.data.translate.cache import TranslationCache, text_sha256
from xinstruct.data.translate.protect import join_pieces, split_text, units
from xinstruct.languages import check_tag

__all__ = ["Translator", "TranslationStats", "make_translator", "TranslatorConfig"]

CACHE_FILE = "translations.sqlite"


@dataclass
class TranslationStats:
    """Counts over a translator's lifetime: unique prose segments per call, found in the cache or not."""

    segments: int = 0
    hits: int = 0
    misses: int = 0


class _Rate(ProgressColumn):
    def render(self, task) -> Text:
        return Text("" if task.speed is None else f"{task.speed:.1f} seg/s", style="progress.data.speed")


class Translator:
    """Translate texts and examples with one backend, through the translation cache."""

    def __init__(self, backend: Backend, cache: TranslationCache | None, batch_size: int = 16, progress: bool = True):
        self.backend = backend
        self.cache = cache if backend.cacheable else None
        self.batch_size = batch_size
        self.progress = progress and backend.cacheable
        self.stats = TranslationStats()

    def translate_texts(self, texts: list[str], src: str, tgt: str) -> list[str]:
        """Each text from `src` into `tgt`, in order; src == tgt returns the texts unchanged."""
        texts = list(texts)
        src, tgt = _tag(src), _tag(tgt)
        if not texts or src == tgt:
            return texts
        self.backend.check_pair(src, tgt)
        pieces = [split_text(text) for text in texts]
        segments = list(dict.fromkeys(u for p in pieces for u in units(p)))
        key = (self.backend.name, self.backend.cache_model(src, tgt), src, tgt) if self.cache is not None else None
        shas = {s: text_sha256(s) for s in segments} if self.cache is not None else {}
        found = self.cache.get_many(key, shas.values()) if self.cache is not None else {}
        done = {s: found[shas[s]] for s in segments if shas.get(s) in found}
        misses = sorted((s for s in segments if s not in done), key=len, reverse=True)  # similar lengths per batch
        self.stats.segments += len(segments)
        self.stats.hits += len(done)
        self.stats.misses += len(misses)
        if misses:
            self._translate_misses(misses, src, tgt, key, shas, done)
        return [join_pieces(p, done) for p in pieces]

    def _translate_misses(self, misses, src, tgt, key, shas, done) -> None:
        from xinstruct.progress import progress_bar

        bar = progress_bar()
        bar.columns = (*bar.columns, _Rate())
        bar.disable = not self.progress
        with bar:
            task = bar.add_task(f"translate {src}->{tgt} ({self.backend.name})", total=len(misses))
            concurrency = getattr(self.backend, "concurrency", 1)
            if concurrency > 1:
                self._translate_concurrently(misses, src, tgt, key, shas, done, concurrency, bar, task)
                return
            for i in range(0, len(misses), self.batch_size):
                batch = misses[i : i + self.batch_size]
                out = self.backend.translate_batch(batch, src, tgt)
                if len(out) != len(batch):
                    raise RuntimeError(f"backend {self.backend.name} returned {len(out)} texts for {len(batch)}")
                self._commit(key, shas, list(zip(batch, out, strict=True)), done)
                bar.advance(task, len(batch))

    def _translate_concurrently(self, misses, src, tgt, key, shas, done, concurrency, bar, task) -> None:
        """Up to `concurrency` segments in flight, one backend call each on a worker thread, refilled as
        each finishes. Only this thread touches the cache: finished segments are committed in batches of
        batch_size, as in the sequential path. On an error the requests in flight are let finish and
        everything answered is committed before the error propagates (on Ctrl-C, without waiting)."""
        todo = iter(misses)
        in_flight: dict[Future, str] = {}
        finished: list[tuple[str, str]] = []
        pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix=f"translate-{self.backend.name}")

        def refill() -> None:
            for segment in islice(todo, concurrency - len(in_flight)):
                in_flight[pool.submit(self.backend.translate_batch, [segment], src, tgt)] = segment

        def collect(futures) -> BaseException | None:
            """Move answered futures to `finished`; the first error among them, if any."""
            error = None
            for future in futures:
                segment = in_flight.pop(future)
                if future.exception() is not None:
                    error = error or future.exception()
                    continue
                out = future.result()
                if len(out) != 1:
                    error = error or RuntimeError(f"backend {self.backend.name} returned {len(out)} texts for 1")
                    continue
                finished.append((segment, out[0]))
                bar.advance(task, 1)
            return error

        try:
            refill()
            while in_flight:
                error = collect(wait(in_flight, return_when=FIRST_COMPLETED)[0])
                if error is not None:
                    collect(wait(in_flight)[0])  # the answers already asked for are kept too
                    raise error
                while len(finished) >= self.batch_size:
                    batch, finished = finished[: self.batch_size], finished[self.batch_size :]
                    self._commit(key, shas, batch, done)
                refill()
        finally:
            pool.shutdown(wait=False, cancel_futures=True)  # on Ctrl-C, requests in flight finish on their own
            if finished:
                self._commit(key, shas, finished, done)

    def _commit(self, key, shas, pairs: list[tuple[str, str]], done) -> None:
        """Store (segment, translation) pairs in one cache transaction, and as done."""
        if self.cache is not None:
            self.cache.put_many(key, [(shas[s], t) for s, t in pairs])
        done.update(pairs)

    def translate_examples(self, examples: list[Example], tgt: str) -> list[Example]:
        """Every message into `tgt` (assistant messages from `response_lang`, the others from `lang`).

        One `translate_texts` call per source language for the whole list; ids become `<id>-<tgt>`.
        """
        tgt = _tag(tgt)
        by_src: dict[str, list[tuple[int, int]]] = {}
        for i, ex in enumerate(examples):
            for j, message in enumerate(ex.messages):
                src = ex.response_lang if message["role"] == "assistant" else ex.lang
                by_src.setdefault(src, []).append((i, j))
        contents = [[m["content"] for m in ex.messages] for ex in examples]
        for src, where in by_src.items():
            out = self.translate_texts([examples[i].messages[j]["content"] for i, j in where], src, tgt)
            for (i, j), text in zip(where, out, strict=True):
                contents[i][j] = text
        return [
            ex.translated(
                f"{ex.id}-{tgt}", tuple({**m, "content": c} for m, c in zip(ex.messages, new, strict=True)), tgt
            )
            for ex, new in zip(examples, contents, strict=True)
        ]

    __call__ = translate_examples  # a `translator(examples, lang)` callable, as recipes used to take

    def close(self) -> None:
        if self.cache is not None:
            self.cache.close()

    def __enter__(self) -> Translator:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _tag(tag: str) -> str:
    try:
        return check_tag(tag)
    except ValueError:
        return tag


def cache_path(cfg: TranslatorConfig, cache_dir: Path) -> Path:
    return Path(cfg.cache).expanduser() if cfg.cache else Path(cache_dir) / CACHE_FILE


def make_translator(
    cfg: TranslatorConfig | str, cache_dir: Path, world_config=None, progress: bool = True
) -> Translator:
    """A Translator for `cfg` (a TranslatorConfig, or a backend name); the cache opens on first use.

    `world_config` (the experiment's `exp.world_config()`) is what the lab backend translates in.
    """
    if isinstance(cfg, str):
        cfg = TranslatorConfig(backend=cfg)
    backend = make_backend(cfg, world_config)
    cache = TranslationCache(cache_path(cfg, cache_dir)) if backend.cacheable else None
    return Translator(backend, cache, cfg.batch_size, progress)

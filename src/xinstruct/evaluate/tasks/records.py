"""records:SOURCE@LANG: a `format: records` source evaluated zero-shot with a template in LANG.

The zero-shot evaluation of "Deep Exploration of Cross-Lingual Zero-Shot Generalization in
Instruction Tuning" (Han et al. 2024): the `templates` recipe tunes on some task clusters and
holds others out; this task asks the tuned model about a records source (e.g. KorNLI's dev set)
through a template in a chosen language, so that tuning and evaluation formats agree, and the
report tells held-out clusters from tuned ones (`xinstruct.report.clusters`).

- Names: `eval.tasks` entries `records:SOURCE` (one task per `eval.template_languages`, default the
  data's language) or `records:SOURCE@LANG` (that template language only); results are named
  `records:SOURCE@LANG` and their `language` is the data's (the source's `language`), whatever
  `eval.languages` are.
- Template: the *first* template of the source's cluster (`task:`) in LANG, from `eval.templates`
  (same syntax as the recipe's `templates:`; they replace the built-ins for that cluster and
  language) or the recipe's built-ins (nli, sts, copa in en and ko). The prompt is the user's turn.
- Choices: the template's response must name exactly one field, the label. With `maps` for it,
  the choices are the response rendered with each mapped text (nli en: "yes" / "maybe" / "no",
  ko: "예" / "아마도" / "아니오"; copa: the two options of each record); the gold is the record's.
  Without `maps`, only a cluster with a numeric scale is supported: sts, whose built-in templates
  ask for 0 to 5, is scored over the integers 0..5 with the score rounded half up as the gold
  (KorSTS's real-valued 3.8 -> 4); any other unmapped response is a config error.
- Scoring: log-likelihood of each choice as the beginning of the assistant's turn in the evaluated
  model's chat template, exactly as tuning formatted the response (`requests`); metric `acc`, per
  example, so the report's intervals work. A model without a chat template sees the prompt, a
  newline, then the label.
- A record whose label has no mapping (or an unparsable score) is a DataError naming file and
  line, or is skipped with a warning under the source's `skip_invalid: true`.
"""

from __future__ import annotations

import math
import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from xinstruct.data.sources import TaskRecord, load_records
from xinstruct.errors import ConfigError, DataError
from xinstruct.evaluate.tasks.common import TaskContext, limited
from xinstruct.progress import warn

if TYPE_CHECKING:
    from xinstruct.config import SourceConfig
    from xinstruct.recipes.templates import Template

VERSION = 1
PREFIX = "records:"
SCALES: dict[str, range] = {"sts": range(0, 6)}  # clusters scored on an integer scale without label words


def is_records(name: str) -> bool:
    return name.startswith(PREFIX)


def parse_name(name: str) -> tuple[str, str | None]:
    """`records:SOURCE@LANG` -> (SOURCE, LANG); (SOURCE, None) without `@LANG`. ValueError if malformed."""
    source, at, lang = name.removeprefix(PREFIX).partition("@")
    if not source or (at and not lang):
        raise ValueError(f"{name!r}: expected records:SOURCE or records:SOURCE@LANG (a `format: records` source)")
    return source, lang or None


def records_source(source: str, sources: Mapping[str, SourceConfig]) -> SourceConfig:
    """The config of records source `source`; ValueError naming what is wrong with it."""
    cfg = sources.get(source)
    if cfg is None:
        raise ValueError(f"no source {source!r} in data.sources; sources: {sorted(sources)}")
    if cfg.format != "records":
        raise ValueError(f"source {source!r} is format {cfg.format}; a records task needs a `format: records` source")
    if cfg.language == "auto":
        raise ValueError(f"source {source!r}: a records task needs a declared `language`, not auto")
    return cfg


def expand_tasks(eval_cfg, sources: Mapping[str, SourceConfig]) -> list[str]:
    """`eval.tasks` with each `records:SOURCE` as one `records:SOURCE@LANG` per `eval.template_languages`
    (default: the data's language); other names unchanged, duplicates dropped."""
    out: list[str] = []
    for name in eval_cfg.tasks:
        if not is_records(name):
            out.append(name)
            continue
        source, lang = parse_name(name)
        langs = [lang] if lang else eval_cfg.template_languages or [records_source(source, sources).language]
        out += [f"{PREFIX}{source}@{tl}" for tl in langs]
    return list(dict.fromkeys(out))


def clusters_of(tasks: list[str], sources: Mapping[str, SourceConfig]) -> dict[str, str]:
    """{records task name: its task cluster} (for the eval manifest, which the report reads)."""
    return {name: sources[parse_name(name)[0]].task for name in tasks if is_records(name)}


def first_template(cluster: str, lang: str, templates: Mapping[str, Mapping[str, list[Any]]]) -> Template:
    """The first template of `cluster` in `lang`: `eval.templates`' if given there, else the built-in one."""
    from xinstruct.recipes.templates import BUILTIN, Template

    given = (templates.get(cluster) or {}).get(lang)
    if given:
        return given[0] if isinstance(given[0], Template) else Template(**given[0])
    if BUILTIN.get(cluster, {}).get(lang):
        return BUILTIN[cluster][lang][0]
    builtin = {task: sorted(langs) for task, langs in BUILTIN.items()}
    raise ValueError(
        f"no template for task cluster {cluster!r} in language {lang!r}; built-in: {builtin}; "
        "add one under eval.templates"
    )


def answer_field(template: Template, cluster: str, lang: str) -> str:
    """The one field the template's response names (the label); ValueError when it cannot be scored."""
    names = {name.split(".")[0].split("[")[0] for _, name, _, _ in string.Formatter().parse(template.response) if name}
    if len(names) != 1:
        raise ValueError(
            f"the {cluster} template in {lang} answers {template.response!r}: a records task needs a response "
            "naming exactly one field (the label)"
        )
    field = names.pop()
    if field not in template.maps and cluster not in SCALES:
        raise ValueError(
            f"the {cluster} template in {lang} answers with {{{field}}}, which has no `maps` (label words): "
            f"give the template `maps: {{{field}: {{value: word}}}}` under eval.templates "
            f"(unmapped answers are scored only for the numeric scales of {sorted(SCALES)})"
        )
    return field


def check_eval(eval_cfg, sources: Mapping[str, SourceConfig]) -> None:
    """Every records task of `eval_cfg` can run: its source is a records source with a declared language,
    and each template language has a scorable template for the source's cluster. ValueError naming the field."""
    records = [(i, name) for i, name in enumerate(eval_cfg.tasks) if is_records(name)]
    if eval_cfg.template_languages and not records:
        raise ValueError("template_languages: applies to records tasks (records:SOURCE); eval.tasks has none")
    for i, name in records:
        source, lang = parse_name(name)
        try:
            cfg = records_source(source, sources)
        except ValueError as e:
            raise ValueError(f"tasks[{i}]: {name}: {e}") from None
        for tl in [lang] if lang else eval_cfg.template_languages or [cfg.language]:
            try:
                answer_field(first_template(cfg.task, tl, eval_cfg.templates), cfg.task, tl)
            except ValueError as e:
                field = "template_languages" if not lang and eval_cfg.template_languages else f"tasks[{i}]"
                raise ValueError(f"{field}: {name}: {e}") from None


def records_task(name: str, ctx: TaskContext) -> RecordsTask:
    """The records task called `name`, built from the experiment's sources and eval templates in `ctx`."""
    if not is_records(name):
        from xinstruct.evaluate.tasks import TASKS

        raise ConfigError(f"eval.tasks: unknown task {name!r}; known tasks: {sorted(TASKS)}, or records:SOURCE")
    try:
        source, lang = parse_name(name)
        cfg = records_source(source, ctx.record_sources)
        lang = lang or cfg.language
        template = first_template(cfg.task, lang, ctx.record_templates)
        field = answer_field(template, cfg.task, lang)
    except ValueError as e:
        raise ConfigError(f"eval.tasks: {name}: {e}") from None
    return RecordsTask(f"{PREFIX}{source}@{lang}", source, cfg, lang, template, field, (cfg.language,))


@dataclass(frozen=True)
class RecordsTask:
    name: str  # records:SOURCE@LANG
    source: str
    config: Any  # the source's SourceConfig
    template_language: str
    template: Any  # recipes.templates.Template
    field: str  # the response's label field
    languages: tuple[str, ...]  # the data's language: the only one it is evaluated in
    version: int = VERSION
    kind: str = "multiple_choice"
    metrics: tuple[str, ...] = ("acc",)

    @property
    def cluster(self) -> str:
        return self.config.task

    def load(self, ctx: TaskContext, lang: str) -> list[dict]:
        if lang not in self.languages:
            raise DataError(f"task {self.name}: source {self.source!r} is in {self.languages[0]}, not {lang!r}")
        rows, skipped = [], []
        for record in load_records(self.source, self.config):
            try:
                prompt, choices, gold = self.render(record)
            except DataError as e:
                if not self.config.skip_invalid:
                    raise
                skipped.append(str(e))
                continue
            rows.append(
                {
                    "id": record.id,
                    "messages": [{"role": "user", "content": prompt}],
                    "context": prompt,
                    "choices": choices,
                    "gold": gold,
                    "answer": choices[gold],
                    "fields": record.fields,
                }
            )
        if skipped:
            warn(f"{self.config.path}: skipped {len(skipped)} records (skip_invalid: true); first: {skipped[0]}")
        if not rows:
            raise DataError(f"{self.config.path}: no records to evaluate for task {self.name}")
        return limited(rows, ctx)

    def render(self, record: TaskRecord) -> tuple[str, list[str], int]:
        """(prompt, choices, gold index) of one record."""
        prompt, response = self.template.render(record)  # DataError: a missing field or an unmapped value
        if self.field not in self.template.maps:
            return prompt, *self._scale(record)
        try:
            texts = [text.format(**record.fields) for text in self.template.maps[self.field].values()]
        except KeyError as e:
            raise DataError(f"{record.where}: missing field {e.args[0]!r} for the {self.cluster} label words") from None
        choices = list(dict.fromkeys(self.template.response.format(**{self.field: text}) for text in texts))
        return prompt, choices, choices.index(response)

    def _scale(self, record: TaskRecord) -> tuple[list[str], int]:
        scale = SCALES[self.cluster]
        value = record.fields[self.field]
        try:
            score = float(value)
        except ValueError:
            score = math.nan
        if not scale[0] <= score <= scale[-1]:
            raise DataError(
                f"{record.where}: field {self.field!r}: expected a number from {scale[0]} to {scale[-1]} "
                f"(the {self.cluster} scale), got {value!r}"
            )
        choices = [self.template.response.format(**{self.field: str(k)}) for k in scale]
        return choices, math.floor(score + 0.5) - scale[0]

    def requests(self, tokenizer, rows: list[dict]) -> list[tuple[str, str]]:
        """(context, continuation) for every choice of every row: the prompt as the user's turn and the
        choice as the start of the assistant's, as the tuning data was formatted (the runner scores these)."""
        return [chat_request(tokenizer, row["messages"], choice) for row in rows for choice in row["choices"]]

    def prompts(self, exp, lang: str) -> list[str]:
        """The records' text for the contamination check: the fields the prompt fills, without the template's words
        (which every tuned example of the cluster shares)."""
        slots = [name for _, name, _, _ in string.Formatter().parse(self.template.prompt) if name]
        return ["\n".join(row["fields"].get(slot, "") for slot in slots) for row in self.load(TaskContext(), lang)]


def chat_request(tokenizer, messages: list[dict], answer: str) -> tuple[str, str]:
    """(context, continuation) scoring `answer` as the assistant's reply in the tokenizer's chat template: the
    context ends with the generation prompt; the continuation is what the template puts before the answer
    (the lab's one space, nothing for ChatML) and the answer, without the end-of-turn marker."""
    if not getattr(tokenizer, "chat_template", None):
        return messages[-1]["content"] + "\n", answer
    context = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    full = tokenizer.apply_chat_template([*messages, {"role": "assistant", "content": answer}], tokenize=False)
    rest = full[len(context) :] if full.startswith(context) else ""
    cut = rest.find(answer) if answer else -1
    continuation = rest[: cut + len(answer)] if cut >= 0 else answer
    bos = tokenizer.bos_token
    if bos and context.startswith(bos) and tokenizer("x")["input_ids"][:1] == [tokenizer.bos_token_id]:
        context = context[len(bos) :]  # the tokenizer adds BOS itself when scoring: not twice
    return context, continuation

"""The experiment file: pydantic models for every stage, and a loader with precise errors.

One YAML file describes an experiment (see README, "The experiment file"). Every model has
`extra="forbid"`, so a typo is an error naming the field, never a silent default. Recipes
and tasks are referred to by name and checked against the hand-written `RECIPES`/`TASKS`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from xinstruct.errors import ConfigError
from xinstruct.evaluate.lm_eval_tasks import LmEvalConfig
from xinstruct.lab.pretrain import PretrainConfig
from xinstruct.lab.world import WorldConfig

# Language tags belong to xinstruct.languages; re-exported here so `from xinstruct.config import Lang`
# (and `_check_lang`, which data/translate/run.py imports) keep working.
from xinstruct.languages import Lang, LangOrAuto
from xinstruct.languages import check_tag as _check_lang  # noqa: F401


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceConfig(_Strict):
    """A named dataset."""

    path: str = Field(description="File path (JSON, JSONL, CSV, Parquet, optionally .gz), hub id, or 'lab'.")
    format: Literal[
        "lab", "alpaca", "messages", "sharegpt", "prompt_completion", "parallel", "lab_parallel", "records"
    ] = Field(description="How examples are laid out: an instruction format, a parallel corpus, or raw task records.")
    language: LangOrAuto = Field(
        "en", description="BCP-47 tag of the examples (parallel: of the source side), or auto."
    )
    split: str = Field("train", description="Split, for a hub dataset.")
    prompt_field: str = Field("prompt", description="prompt_completion: the prompt's field.")
    response_field: str = Field("completion", description="prompt_completion: the response's field.")
    skip_invalid: bool = Field(False, description="Skip (and report) malformed or empty records instead of failing.")
    task: str | None = Field(
        None, description="Task cluster of the source's examples (records: required; lab: keep only that cluster)."
    )
    layout: Literal["files", "tsv", "jsonl", "per_language"] | None = Field(
        None,
        description="parallel: two aligned files, a TSV, a JSONL of pairs, or a directory of one file per language.",
    )
    target_path: str | None = Field(None, description="parallel, layout files: the target-side file.")
    target_language: Lang | None = Field(None, description="parallel (files, tsv, jsonl): language of the target side.")
    source_field: str = Field("source", description="parallel, layout jsonl: the source text's field.")
    target_field: str = Field("target", description="parallel, layout jsonl: the target text's field.")

    @model_validator(mode="after")
    def _format_fields(self) -> SourceConfig:
        if self.format == "parallel":
            if self.layout is None:
                raise ValueError("a parallel source needs `layout`: files, tsv, jsonl or per_language")
            if self.layout == "files" and self.target_path is None:
                raise ValueError("layout files needs `target_path` (the aligned target-side file)")
            if self.layout != "per_language" and (self.target_language is None or self.language == "auto"):
                raise ValueError(f"layout {self.layout} needs `language` and `target_language` (BCP-47 tags)")
        elif self.layout is not None or self.target_path is not None:
            raise ValueError("`layout` and `target_path` apply to format: parallel only")
        if self.format == "records" and self.task is None:
            raise ValueError("a records source needs `task` (its task cluster, e.g. nli)")
        return self


class TranslatorConfig(_Strict):
    """Where translations come from: the lab's exact translator, an HF seq2seq MT model, or a chat endpoint.

    A plain string is the short form: `translator: lab` is `translator: {backend: lab}`.
    """

    backend: Literal["lab", "hf", "openai"] = Field(
        "lab", description="lab (exact, English lab text only) | hf (Marian, NLLB, M2M100) | openai (chat endpoint)."
    )
    model: str | None = Field(
        None,
        description="hf: hub id or local dir, may be a pattern like Helsinki-NLP/opus-mt-{src}-{tgt}; "
        "openai: the served model's name.",
    )
    batch_size: int = Field(16, ge=1, description="Segments per model call (hf) or per cache commit (openai).")
    max_length: int = Field(256, ge=8, description="hf only: tokens per input (longer ones are truncated) and output.")
    num_beams: int = Field(1, ge=1, description="hf only: 1 = greedy decoding, more = beam search.")
    base_url: str | None = Field(None, description="openai only (required): e.g. http://localhost:8000/v1.")
    api_key_env: str = Field(
        "OPENAI_API_KEY", description="openai only: NAME of the environment variable holding the API key."
    )
    max_retries: int = Field(5, ge=0, description="openai only: retries of 429/5xx/connection errors, with backoff.")
    timeout: float = Field(120.0, gt=0, description="openai only: seconds per request.")
    concurrency: int = Field(
        8,
        ge=1,
        description="openai only: requests in flight at once (a vLLM server batches hundreds); finished "
        "segments are still committed to the cache batch_size at a time.",
    )
    cache: str | None = Field(None, description="SQLite translation cache; default <cache_dir>/translations.sqlite.")
    trust_remote_code: bool = Field(False, description="hf only: run model code from the hub; only if you trust it.")

    @model_validator(mode="before")
    @classmethod
    def _short_form(cls, data: Any) -> Any:
        if isinstance(data, str):
            return {"backend": data}
        if isinstance(data, dict):
            env = data.get("api_key_env")
            if isinstance(env, str) and not (env.isascii() and env.isidentifier()):
                # never echo the value: it may be the key itself
                raise ValueError(
                    "api_key_env must be the NAME of an environment variable holding the key (e.g. OPENAI_API_KEY), "
                    "not the key itself"
                )
        return data

    @model_validator(mode="after")
    def _required(self) -> TranslatorConfig:
        if self.backend in ("hf", "openai") and not self.model:
            example = "Helsinki-NLP/opus-mt-{src}-{tgt}" if self.backend == "hf" else "the served model's name"
            raise ValueError(f"backend {self.backend!r} needs `model` (e.g. {example})")
        if self.backend == "openai" and not self.base_url:
            raise ValueError("backend 'openai' needs `base_url` (e.g. http://localhost:8000/v1)")
        return self


class DataConfig(_Strict):
    sources: dict[str, SourceConfig] = Field(description="Named datasets the arms' recipes draw from.")
    translator: TranslatorConfig = Field(
        TranslatorConfig(), description="Where translations come from when a recipe needs them (see TranslatorConfig)."
    )
    decontaminate: bool = Field(False, description="Drop training examples that overlap an evaluation set.")
    contamination_ngram: int = Field(8, ge=1, description="Word n-gram length of the contamination check.")


class TrainConfig(_Strict):
    """Supervised fine-tuning (TRL SFTTrainer); loss on the response tokens only."""

    method: Literal["lora", "qlora", "full"] = Field(
        "lora", description="LoRA adapters, QLoRA (LoRA on a 4-bit base; CUDA + bitsandbytes), or full fine-tuning."
    )
    epochs: float = Field(3.0, gt=0)
    lr: float = Field(2e-4, gt=0, description="Peak learning rate.")
    batch_size: int = Field(8, ge=1, description="Examples per device per step.")
    grad_accum: int = Field(1, ge=1, description="Gradient accumulation steps.")
    max_length: int = Field(512, ge=8, description="Tokens per example; longer ones are truncated.")
    warmup: float = Field(0.03, ge=0, description="Warmup: a fraction of steps if < 1, else a step count.")
    weight_decay: float = Field(0.0, ge=0)
    scheduler: str = Field("cosine", description="transformers lr_scheduler_type.")
    lora_r: int = Field(16, ge=1)
    lora_alpha: int = Field(32, ge=1)
    lora_dropout: float = Field(0.05, ge=0, lt=1)
    lora_target_modules: list[str] | Literal["all-linear"] = Field("all-linear")
    precision: Literal["auto", "bf16", "fp16", "fp32"] = Field(
        "auto", description="Mixed precision; auto = bf16 on a GPU that supports it, else fp32."
    )
    trust_remote_code: bool = Field(False, description="Run model code from the hub; only if you trust it.")
    logging_steps: int = Field(10, ge=1)
    packing: bool | Literal["auto"] = Field(
        "auto",
        description="Pack examples into rows of max_length tokens, padding-free (position ids restart per "
        "example, no attention across examples; batch_size then counts rows). auto: on where flash-attention "
        "varlen kernels exist (CUDA + flash_attn), else length-grouped batches, faster with SDPA.",
    )
    group_by_length: bool = Field(
        True, description="Without packing: batch examples of similar length together (little padding)."
    )
    chat_template: str | None = Field(
        None,
        description="The tokenizer's own chat template (default), a named one (alpaca, chatml) for base models "
        "without one, or a Jinja template string.",
    )
    checkpoint_steps: int = Field(
        200, ge=1, description="Save a checkpoint every N optimizer steps (resume after a kill)."
    )
    save_merged: bool = Field(False, description="LoRA: also save the adapter merged into the base weights (merged/).")
    loss_by_language: bool = Field(True, description="Log the training loss per language (a sample each epoch).")
    report_to: list[str] = Field([], description="Trackers for transformers: tensorboard, mlflow, wandb, ...")
    gradient_checkpointing: bool = Field(False, description="Trade compute for memory on long sequences.")
    attn_implementation: str | None = Field(None, description="sdpa (default), eager, flash_attention_2, ...")

    @model_validator(mode="after")
    def _known_template(self) -> TrainConfig:
        if self.chat_template is not None:
            from xinstruct.train.chat_templates import resolve_chat_template

            resolve_chat_template(self.chat_template)
        return self


class EvalConfig(_Strict):
    tasks: list[str] = Field(
        ["lab_qa"],
        min_length=1,
        description="Task names (see `xinstruct.evaluate.tasks.TASKS`), or records:SOURCE[@LANG]: a `format: records` "
        "source evaluated zero-shot with a template (`xinstruct.evaluate.tasks.records`).",
    )
    languages: list[Lang] | None = Field(None, description="Evaluation languages; default: the experiment's.")
    max_new_tokens: int = Field(32, ge=1)
    batch_size: int = Field(64, ge=1)
    limit: int | None = Field(None, ge=1, description="First N examples per task and language (quick looks).")
    data_dir: str | None = Field(None, description="Benchmark files; default $XINSTRUCT_DATA or ../shared/data.")
    prompt_language: Literal["en", "native"] = Field(
        "en",
        description="Task instructions in English for every language, or in the evaluation language (native).",
    )
    engine: Literal["auto", "hf", "vllm"] = Field(
        "auto",
        description="Generation and multiple-choice engine: vLLM where installed with a GPU (auto), else Hugging Face.",
    )
    device: Literal["auto", "cuda", "mps", "cpu"] = Field(
        "auto",
        description="Where evaluated models run: auto = CUDA, else MPS, else CPU (each rank its own GPU under a "
        "launcher). Asking for a device the machine lacks is an error.",
    )
    dtype: Literal["auto", "bf16", "fp16", "fp32"] = Field(
        "auto",
        description="Weights and activations: auto = bf16 on a GPU that supports it, fp16 on older GPUs, fp32 on "
        "the CPU (the lab's models: always fp32). Log-probabilities are computed in fp32 whatever this is.",
    )
    device_map: Literal["auto"] | None = Field(
        None,
        description="auto: spread one model larger than a GPU over every visible GPU (accelerate); CUDA only, "
        "and not under torchrun / accelerate launch (data parallelism gives each rank one GPU).",
    )
    template_languages: list[Lang] | None = Field(
        None,
        description="records tasks: template languages, one result each (records:SOURCE@LANG); default: the data's.",
    )
    templates: dict[str, dict[Lang, list[dict[str, Any]]]] = Field(
        {},
        description="records tasks: templates per task cluster and language, as the templates recipe's; they replace "
        "the built-ins there, and the first one is used.",
    )
    lm_eval: LmEvalConfig = Field(
        LmEvalConfig(),
        validate_default=True,  # checks the lm_eval: tasks even where this section is left out
        description="lm_eval:NAME tasks (lm-evaluation-harness): local task directories, subtask languages, "
        "few-shot (`xinstruct.evaluate.lm_eval_tasks.LmEvalConfig`).",
    )

    @field_validator("tasks")
    @classmethod
    def _records_names(cls, tasks: list[str]) -> list[str]:
        """records:SOURCE@LANG with LANG a valid tag, in its standard form (results are named by it)."""
        from xinstruct.evaluate.tasks.records import PREFIX, is_records, parse_name

        out = []
        for name in tasks:
            if is_records(name):
                source, lang = parse_name(name)
                try:
                    name = PREFIX + source + (f"@{_check_lang(lang)}" if lang else "")
                except ValueError as e:
                    raise ValueError(f"{name!r}: {e}") from None
            out.append(name)
        return out

    @field_validator("tasks")
    @classmethod
    def _lm_eval_installed(cls, tasks: list[str]) -> list[str]:
        """lm_eval:NAME needs the optional lm-evaluation-harness: said at load time, at `tasks`, with how to install."""
        from xinstruct.evaluate.lm_eval_tasks import is_lm_eval, require_lm_eval

        if any(is_lm_eval(name) for name in tasks):
            require_lm_eval()
        return tasks

    @field_validator("lm_eval")
    @classmethod
    def _lm_eval_tasks(cls, value: LmEvalConfig, info: ValidationInfo) -> LmEvalConfig:
        """The lm_eval: tasks exist and every subtask has a language (before any training, not after)."""
        from xinstruct.evaluate.lm_eval_tasks import check_tasks

        if "tasks" in info.data:  # else `tasks` itself failed, and says so
            check_tasks(info.data["tasks"], value)
        return value

    @field_validator("template_languages")
    @classmethod
    def _distinct_languages(cls, languages: list[str] | None) -> list[str] | None:
        if languages is not None and (not languages or len(set(languages)) != len(languages)):
            raise ValueError(f"give each template language once ({languages})")
        return languages

    @field_validator("templates")
    @classmethod
    def _valid_templates(cls, templates: dict) -> dict:
        from xinstruct.recipes.templates import Template

        out: dict = {}
        for cluster, by_lang in templates.items():
            for lang, items in by_lang.items():
                for k, item in enumerate(items):
                    try:
                        out.setdefault(cluster, {}).setdefault(lang, []).append(Template(**item).model_dump())
                    except ValidationError as e:
                        problems = "; ".join(f"{'.'.join(map(str, x['loc']))}: {x['msg']}" for x in e.errors())
                        raise ValueError(f"{cluster}.{lang}[{k}]: {problems}") from None
        return out

    @model_validator(mode="after")
    def _known_tasks(self) -> EvalConfig:
        from xinstruct.evaluate.tasks import TASKS

        for name in self.tasks:
            if name not in TASKS and not name.startswith(("records:", "lm_eval:")):
                raise ValueError(f"unknown task {name!r}; known tasks: {sorted(TASKS)}, records:SOURCE or lm_eval:NAME")
        if self.device_map is not None and self.device not in ("auto", "cuda"):
            raise ValueError(f"eval.device_map auto spreads a model over GPUs; eval.device is {self.device}")
        return self


class JudgeConfig(_Strict):
    """LLM judges of open-ended answers (`xinstruct.evaluate.judge`): a six-aspect rubric and pairwise."""

    backend: Literal["hf", "openai", "lab"] = Field(
        "hf", description="hf: a local model; openai: a chat endpoint; lab: exact verdicts from the lab world."
    )
    model: str = Field(
        ..., description="hf: model dir or hub id (`lab`: the lab base model); openai: the served model's name."
    )
    base_url: str | None = Field(None, description="openai only (required): e.g. http://localhost:8000/v1 (vLLM).")
    api_key_env: str = Field("OPENAI_API_KEY", description="openai only: NAME of the variable holding the key.")
    max_retries: int = Field(5, ge=0, description="openai only: retries of 429/5xx/connection errors, with backoff.")
    timeout: float = Field(120.0, gt=0, description="openai only: seconds per request.")
    concurrency: int = Field(4, ge=1, description="openai only: requests in flight at once.")
    prompts: str = Field(
        "lab",
        description="lab | lab_mixed (with yes/no questions) | a directory of test_<lang>.jsonl (HPLT layout) | "
        "a JSONL path with a {lang} slot.",
    )
    skip_invalid: bool = Field(False, description="Skip malformed prompt lines (with a warning) instead of failing.")
    limit: int | None = Field(None, ge=1, description="First N prompts per language.")
    modes: list[Literal["rubric", "pairwise"]] = Field(["rubric", "pairwise"], min_length=1)
    pairwise_against: str = Field(
        "auto",
        description="auto: per language L, the first arm whose data manifest is all L->L (by language, not tag), "
        "else the first arm with a warning (the partner used is in <arm>/judge/manifest.json); or an arm's name.",
    )
    rubric_prompt: str | None = Field(None, description="Your own rubric prompt file (str.format slots as ours).")
    pairwise_prompt: str | None = Field(None, description="Your own pairwise prompt file.")
    retries: int = Field(2, ge=0, description="Asks again, with the parse error, when a verdict is not strict JSON.")
    max_new_tokens: int = Field(
        512,
        ge=1,
        description="Tokens each arm may generate per answer to the open-ended prompts (greedy). Long answers "
        "need room: an answer cut short is judged as written, so too small a cap penalises the longer answers.",
    )
    max_tokens: int = Field(256, ge=1, description="Length of a verdict.")
    batch_size: int = Field(16, ge=1, description="hf: prompts per generation batch.")
    device: Literal["auto", "cuda", "mps", "cpu"] = Field(
        "auto", description="hf: where the judge runs, as eval.device (auto = CUDA, else MPS, else CPU)."
    )
    dtype: Literal["auto", "bf16", "fp16", "fp32"] = Field(
        "auto", description="hf: the judge's dtype, as eval.dtype (auto = bf16/fp16 on a GPU, fp32 on the CPU)."
    )
    device_map: Literal["auto"] | None = Field(
        None, description="hf: auto spreads a judge larger than one GPU over every visible GPU (accelerate)."
    )

    @model_validator(mode="after")
    def _endpoint(self) -> JudgeConfig:
        if self.backend == "lab" and self.prompts not in ("lab", "lab_mixed"):
            raise ValueError(f"judge.backend lab judges lab questions: prompts lab or lab_mixed, not {self.prompts!r}")
        if self.backend == "openai" and not self.base_url:
            raise ValueError("judge.backend openai needs judge.base_url (e.g. http://localhost:8000/v1)")
        if self.device_map is not None and self.device not in ("auto", "cuda"):
            raise ValueError(f"judge.device_map auto spreads a model over GPUs; judge.device is {self.device}")
        return self


class ReportConfig(_Strict):
    metric: str = Field("accuracy", description="Metric shown in the arms x languages table and heatmap.")


class ClaimConfig(_Strict):
    """What an experiment expects: arm `better` beats arm `worse` on a task and metric over some languages.

    Evaluated by the report with the paired bootstrap CI and permutation p it computes (pairing examples and
    seeds); the claim holds when the CI's lower end is above `margin`."""

    better: str = Field(description="The arm expected to score higher.")
    worse: str = Field(description="The arm it is compared with (on the same examples).")
    task: str = Field(description="An evaluation task (as results name it).")
    metric: str | None = Field(None, description="Default: the report's headline metric of the task.")
    languages: list[Lang] | Literal["all", "non-en", "seen", "unseen"] = Field(
        "non-en",
        description="A list, all, non-en, or seen/unseen: the languages in (not in) the `better` arm's tuning data.",
    )
    margin: float = Field(0.0, description="The difference (metric units, e.g. 0.05 = 5 points) the CI must clear.")
    model: str | None = Field(None, description="In a model grid: the model it is about (default: every model).")


class LabWorld(_Strict):
    seed: int | None = Field(None, description="World seed; default: the experiment's seed.")
    n_people: int = Field(WorldConfig.model_fields["n_people"].default, ge=4)
    heldout_share: float = Field(
        WorldConfig.model_fields["heldout_share"].default,
        gt=0,
        lt=1,
        description="Share of people kept out of tuning (asked by lab_qa).",
    )
    languages: list[Lang] | None = Field(None, description="Lab languages; default: the experiment's.")


class LabConfig(_Strict):
    world: LabWorld = LabWorld()
    pretrain: PretrainConfig = PretrainConfig()
    models: dict[str, dict[str, Any]] = Field(
        {},
        description="Named lab base-model variants for the model axis: `model: [lab, lab:small]` with "
        "`models: {small: {hidden_size: 64}}` (overrides of `pretrain`).",
    )

    @model_validator(mode="after")
    def _variants(self) -> LabConfig:
        for name, overrides in self.models.items():
            try:
                PretrainConfig(**{**self.pretrain.model_dump(), **overrides})
            except ValidationError as e:
                err = e.errors()[0]
                raise ValueError(f"models.{name}.{'.'.join(map(str, err['loc']))}: {err['msg']}") from None
        return self

    def pretrain_for(self, model: str) -> PretrainConfig:
        """`lab` -> `pretrain`; `lab:NAME` -> `pretrain` with `models.NAME` over it."""
        variant = model.partition(":")[2]
        return PretrainConfig(**{**self.pretrain.model_dump(), **self.models[variant]}) if variant else self.pretrain


def _check_params(what: str, model: type[BaseModel], values: dict[str, Any]) -> None:
    try:
        model(**values)
    except ValidationError as e:
        raise ValueError(
            "; ".join(
                f"{what} {'.'.join(map(str, err['loc']))}: {err['msg']}"
                + ("" if err["type"] == "missing" else f" (got {err['input']!r})")
                for err in e.errors()
            )
        ) from None


class PartConfig(BaseModel):
    """One part of an arm's mixture: a recipe name plus that recipe's parameters."""

    model_config = ConfigDict(extra="allow", frozen=True)

    recipe: str = Field(description="Recipe name (see `xinstruct.recipes.RECIPES`).")
    name: str | None = Field(None, description="Shown in manifests; default: the recipe's name (numbered if repeated).")

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.model_extra or {})

    @model_validator(mode="after")
    def _check_recipe(self) -> PartConfig:
        from xinstruct.recipes import RECIPES

        if self.recipe not in RECIPES:
            raise ValueError(f"unknown recipe {self.recipe!r}; known recipes: {sorted(RECIPES)}")
        _check_params("parameter", RECIPES[self.recipe].Params, self.params)
        return self

    def recipe_params(self):
        from xinstruct.recipes import RECIPES

        return RECIPES[self.recipe].Params(**self.params)


class ArmConfig(BaseModel):
    """One variant to compare: a recipe name plus its parameters, or a list of `parts` (each a recipe with
    its own parameters and budget; the mixture is their union), and training overrides.

    A YAML list is the short form of `parts`: `arm: [{recipe: monolingual, ...}, {recipe: crossin, ...}]`.
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    recipe: str | None = Field(None, description="Recipe name (see `xinstruct.recipes.RECIPES`).")
    parts: list[PartConfig] | None = Field(None, min_length=1, description="Several recipes; the union is the mixture.")
    train: dict[str, Any] = Field({}, description="Overrides of the experiment's `train` for this arm.")

    @model_validator(mode="before")
    @classmethod
    def _short_form(cls, data: Any) -> Any:
        return {"parts": data} if isinstance(data, list) else data

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.model_extra or {})

    @model_validator(mode="after")
    def _check_recipe(self) -> ArmConfig:
        if (self.recipe is None) == (self.parts is None):
            raise ValueError("an arm needs either `recipe` (with its parameters) or `parts` (a list of recipes)")
        if self.parts is not None and self.params:
            raise ValueError(f"an arm with `parts` takes recipe parameters inside each part, not {sorted(self.params)}")
        if self.recipe is not None:
            PartConfig(recipe=self.recipe, **self.params)
        names = [name for name, _ in self.named_parts()]
        if len(set(names)) != len(names):
            raise ValueError(f"part names must be distinct: {names}")
        for part in self.parts or []:
            if part.recipe == "languages_sweep" and part.params.get("n_languages") is None:
                raise ValueError("a languages_sweep part needs `n_languages` (only a whole arm expands into k arms)")
        _check_params("train", TrainConfig, self.train)
        return self

    def named_parts(self) -> list[tuple[str, PartConfig]]:
        """(name, part) for every part; a single-recipe arm is one part named after its recipe."""
        if self.parts is None:
            return [(self.recipe, PartConfig(recipe=self.recipe, **self.params))]
        seen: dict[str, int] = {}
        for part in self.parts:
            seen[part.recipe] = seen.get(part.recipe, 0) + 1
        out, index = [], {}
        for part in self.parts:
            if part.name is not None:
                out.append((part.name, part))
                continue
            index[part.recipe] = index.get(part.recipe, 0) + 1
            out.append((part.recipe if seen[part.recipe] == 1 else f"{part.recipe}-{index[part.recipe]}", part))
        return out

    def recipe_params(self):
        """The parameters of a single-recipe arm, validated by its recipe's `Params`."""
        if self.parts is not None:
            raise ValueError("an arm with parts has one set of parameters per part (see named_parts)")
        return PartConfig(recipe=self.recipe, **self.params).recipe_params()

    def describe(self) -> dict[str, Any]:
        """The arm's data definition for keys and manifests: recipe and params, or the parts."""
        if self.parts is None:
            return {"recipe": self.recipe, "params": self.params}
        return {"parts": [{"name": name, "recipe": p.recipe, "params": p.params} for name, p in self.named_parts()]}


def _source_names(params: dict[str, Any]) -> list[str]:
    names = [params.get(key) for key in ("source", "parallel", "ctd", "lud")] + list(params.get("sources") or [])
    return [name for name in names if isinstance(name, str)]


def _is_private_use(tag: str) -> bool:
    """ISO 639 private-use language codes qaa..qtz: the lab's languages."""
    base = tag.split("-")[0].lower()
    return len(base) == 3 and "qaa" <= base <= "qtz"


def _translation_targets(recipe: str, params: dict[str, Any]) -> list[str]:
    """The languages a recipe part translates its source's examples into (what the translator must produce)."""
    languages = [str(t) for t in params.get("languages") or []]
    if recipe == "monolingual":
        return [str(params["language"])] if params.get("language") else []
    if recipe in ("pinch", "crossin"):
        return languages
    if recipe == "languages_sweep":
        return languages[1 : params.get("n_languages") or len(languages)]
    return []  # translation_demos, templates, multilingual: the data is used as it is


def _is_lab(model: str) -> bool:
    return model == "lab" or model.startswith("lab:")


class Experiment(_Strict):
    """A whole experiment: what to tune, on which data mixtures (arms), how to train and evaluate.

    `model` may be a list and `seeds` a list: the experiment is then a grid of cells (model x seed),
    each run as a single-model, single-seed experiment (`cells`) with every arm.
    """

    name: str = Field("experiment", description="Shown in reports.")
    seed: int = Field(0, description="Seed for data mixtures, training and the lab world.")
    seeds: list[int] | None = Field(
        None, min_length=1, description="Several seeds: one run per seed (the grid's seed axis); overrides `seed`."
    )
    languages: list[Lang] = Field(min_length=1, description="Languages of the experiment (BCP-47).")
    model: str | list[str] = Field(description="HF hub id, local HF model directory, `lab` (or `lab:VARIANT`); a list.")
    data: DataConfig
    arms: dict[str, ArmConfig] = Field(min_length=1)
    train: TrainConfig = TrainConfig()
    eval: EvalConfig = EvalConfig()
    judge: JudgeConfig | None = Field(None, description="LLM judges, run after evaluation (none by default).")
    report: ReportConfig = ReportConfig()
    claims: list[ClaimConfig] = Field([], description="What the experiment expects; the report checks each.")
    lab: LabConfig = LabConfig()

    @model_validator(mode="before")
    @classmethod
    def _expand_sweeps(cls, raw: Any) -> Any:
        if isinstance(raw, dict) and isinstance(raw.get("arms"), dict):
            from xinstruct.recipes.languages_sweep import expand_arms

            raw = {**raw, "arms": expand_arms(raw["arms"])}
        return raw

    @model_validator(mode="after")
    def _cross_checks(self) -> Experiment:
        for arm_name, arm in self.arms.items():
            for part_name, part in arm.named_parts():
                for source in _source_names(part.params):
                    if source not in self.data.sources:
                        where = f"arm {arm_name!r}" + (f", part {part_name!r}" if arm.parts else "")
                        raise ValueError(f"{where}: unknown source {source!r}; sources: {sorted(self.data.sources)}")
        if self.judge and self.judge.pairwise_against not in ("auto", *self.arms):
            raise ValueError(f"judge.pairwise_against: no arm {self.judge.pairwise_against!r}; arms: {list(self.arms)}")
        models = self.models
        if not models:
            raise ValueError("model: give at least one model")
        if len(set(models)) != len(models):
            raise ValueError(f"model: each model once ({models})")
        for model in models:
            variant = model.partition(":")[2] if _is_lab(model) else ""
            if variant and variant not in self.lab.models:
                raise ValueError(f"model {model!r}: no lab variant {variant!r}; lab.models: {sorted(self.lab.models)}")
        for k, claim in enumerate(self.claims):
            for side in ("better", "worse"):
                if getattr(claim, side) not in self.arms:
                    raise ValueError(f"claims {k}: {side} {getattr(claim, side)!r} is no arm; arms: {list(self.arms)}")
            if claim.model is not None and claim.model not in self.models:
                raise ValueError(f"claims {k}: model {claim.model!r} is not in model: {self.models}")
        if self.seeds is not None and len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"seeds: each seed once ({self.seeds})")
        return self

    @model_validator(mode="after")
    def _lab_and_language_guards(self) -> Experiment:
        """What would otherwise fail after hours of work, or in a traceback: the lab's pieces with real models
        and languages, evaluation languages no task has, translations the translator cannot make."""
        from xinstruct.lab.languages import ALL_LANGUAGES

        lab_tags = {lang.tag for lang in ALL_LANGUAGES}
        private = [t for t in dict.fromkeys([*self.languages, *self.eval_languages]) if _is_private_use(t)]
        labs = [m for m in self.models if _is_lab(m)]
        real = [m for m in self.models if not _is_lab(m)]
        if real and (private or "lab_qa" in self.eval.tasks):
            what = f"lab languages {private}" if private else "task lab_qa"
            raise ValueError(
                f"model {real[0]!r}: {what} exist only in the lab world (model: lab); a real model is evaluated "
                "on real languages and benchmarks (e.g. eval.tasks: [xquad, mgsm])"
            )
        if labs:
            world = self.world_config().languages
            unknown = [t for t in world if t not in lab_tags]
            if unknown:
                raise ValueError(
                    f"model lab: the lab world has only {sorted(lab_tags)}; {unknown} are real languages "
                    "(set lab.world.languages to lab languages, e.g. [en, qaa], to use the lab model with real data)"
                )
            if "lab_qa" in self.eval.tasks:
                outside = [t for t in self.eval_languages if t not in world]
                if outside:
                    raise ValueError(
                        f"eval.languages: lab_qa asks about the lab world, whose languages are {list(world)}; "
                        f"{outside} are not among them"
                    )
        for arm_name, arm in self.arms.items():
            for part_name, part in arm.named_parts():
                targets = _translation_targets(part.recipe, part.params)
                sources = [self.data.sources[n] for n in _source_names(part.params) if n in self.data.sources]
                where = f"arm {arm_name!r}" + (f", part {part_name!r}" if arm.parts else "")
                if self.data.translator.backend == "lab":
                    real_source = [s.path for s in sources if s.format != "lab" and targets]
                    if real_source:
                        raise ValueError(
                            f"{where}: translates {real_source[0]} into {targets} with the lab translator, which "
                            "translates only the lab's own English sentences (set data.translator: hf or openai)"
                        )
                elif any(_is_private_use(t) for t in targets):
                    raise ValueError(
                        f"{where}: lab languages {[t for t in targets if _is_private_use(t)]} can only be produced "
                        "by the lab translator (data.translator: lab)"
                    )
        self._check_task_languages()
        return self

    def _check_task_languages(self) -> None:
        """An evaluation language no task covers is an error; a task lacking some of them is a warning."""
        from xinstruct.evaluate.tasks import TASKS, evaluation_languages

        have: dict[str, tuple[str, ...] | None] = {}
        for name in self.eval.tasks:
            task = TASKS.get(name)
            if task is None or name == "lab_qa" or not task.languages or hasattr(task, "available_languages"):
                have[name] = None  # any language, the data's, or found at run time: not checked here
            else:
                have[name] = tuple(task.languages)
        if any(v is None for v in have.values()):
            return
        covered = {name: evaluation_languages(TASKS[name], self.eval_languages)[0] for name in have}
        nowhere = [t for t in self.eval_languages if not any(t in c for c in covered.values())]
        if nowhere and self.judge is None:  # the judge's prompt sets cover languages too (checked when read)
            listing = "; ".join(f"{name}: {' '.join(langs)}" for name, langs in have.items())
            raise ValueError(f"eval.languages: no task has {nowhere} ({listing})")
        from xinstruct.progress import warn

        for name, langs in covered.items():
            missing = [t for t in self.eval_languages if t not in langs]
            if missing:
                warn(f"task {name} has no {missing}: it is evaluated in {langs} only")

    @property
    def models(self) -> list[str]:
        return [self.model] if isinstance(self.model, str) else list(self.model)

    @property
    def is_grid(self) -> bool:
        """True when the file declares a model list or a seed list (outputs go to one directory per cell)."""
        return isinstance(self.model, list) or self.seeds is not None

    def cells(self) -> list[Cell]:
        """The grid, models x seeds, each cell a single-model, single-seed experiment."""
        out = []
        for model in self.models:
            for seed in self.seeds or [self.seed]:
                update: dict[str, Any] = {"model": "lab" if _is_lab(model) else model, "seed": seed, "seeds": None}
                if _is_lab(model):
                    update["lab"] = self.lab.model_copy(update={"pretrain": self.lab.pretrain_for(model)})
                out.append(Cell(model, seed, self.model_copy(update=update)))
        return out

    @field_validator("eval")
    @classmethod
    def _records_tasks(cls, value: EvalConfig, info: ValidationInfo) -> EvalConfig:
        """records:SOURCE tasks name records sources with templates (here, not in _cross_checks: errors get a line)."""
        data = info.data.get("data")
        if data is not None:
            from xinstruct.evaluate.tasks.records import check_eval

            check_eval(value, data.sources)
        return value

    def arm_train(self, arm: str) -> TrainConfig:
        return TrainConfig(**{**self.train.model_dump(), **self.arms[arm].train})

    @property
    def eval_languages(self) -> list[str]:
        return self.eval.languages or self.languages

    def world_config(self) -> WorldConfig:
        w = self.lab.world
        return WorldConfig(
            seed=self.seed if w.seed is None else w.seed,
            n_people=w.n_people,
            heldout_share=w.heldout_share,
            languages=tuple(w.languages or self.languages),
        )


@dataclass(frozen=True)
class Cell:
    """One cell of the grid: the model as written (`lab:small`), the seed, and its single-valued experiment."""

    model: str
    seed: int
    exp: Experiment

    @property
    def path(self) -> Path:
        """Where the cell's outputs go under the experiment directory: `<model>/seed<S>` in a grid."""
        return Path(model_slug(self.model)) / f"seed{self.seed}"


def model_slug(model: str) -> str:
    """A directory name for a model: `org/name` -> `org--name`, `lab:small` -> `lab-small`, a path -> its name."""
    name = Path(model).name if Path(model).is_absolute() or model.startswith(".") else model
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name.replace("/", "--").replace(":", "-")).strip("-") or "model"


# -- loading -----------------------------------------------------------------------------------


def load_experiment(path: str | Path, overrides: list[str] = ()) -> Experiment:
    """Read, override (`key.path=value`) and validate an experiment file; ConfigError on any problem."""
    from xinstruct.presets import presets, resolve

    path = resolve(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        names = ", ".join(presets())
        raise ConfigError(f"{path}: no such experiment file (nor a preset: {names})") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: a directory, not an experiment file") from None
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    return parse_experiment(text, str(path), overrides)


def parse_experiment(text: str, filename: str = "<experiment>", overrides: list[str] = ()) -> Experiment:
    try:
        node = yaml.compose(text)
        raw = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{filename}:{mark.line + 1}" if mark else filename
        raise ConfigError(f"{where}: invalid YAML: {getattr(e, 'problem', e)}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{filename}: expected a mapping of experiment fields at the top level")
    for item in overrides:
        _apply_override(raw, item)
    try:
        return Experiment(**raw)
    except ValidationError as e:
        raise ConfigError(_format_errors(e, filename, node)) from None


def _apply_override(raw: dict, item: str) -> None:
    if "=" not in item:
        raise ConfigError(f"--set {item!r}: expected KEY.PATH=VALUE, e.g. train.lr=1e-4")
    key, value = item.split("=", 1)
    parts = key.split(".")
    target = raw
    for part in parts[:-1]:
        target = target.setdefault(part, {})
        if not isinstance(target, dict):
            raise ConfigError(f"--set {item!r}: {part!r} is not a mapping")
    target[parts[-1]] = yaml.safe_load(value)


def _format_errors(error: ValidationError, filename: str, node: yaml.Node | None) -> str:
    lines = []
    for err in error.errors():
        loc = [str(x) for x in err["loc"]]
        msg = err["msg"].removeprefix("Value error, ")
        named = re.match(
            r"(arm|model|seeds|claims|eval\.languages|judge\.pairwise_against)\b(?: '([^']+)'| (\d+))?", msg
        )
        if named and not loc:  # a cross-field check: point at the field it names
            loc = {
                "arm": ["arms", named.group(2) or ""],
                "claims": ["claims", named.group(3) or ""],
                "judge.pairwise_against": ["judge", "pairwise_against"],
                "eval.languages": ["eval", "languages"],
            }.get(named.group(1), [named.group(1)])
        line = _line_of(node, loc)
        where = f"{filename}:{line}" if line else filename
        field = ".".join(loc) or "(top level)"
        got = (
            f" (got {err['input']!r})" if err["type"] not in ("missing",) and not isinstance(err["input"], dict) else ""
        )
        lines.append(f"{where}: field {field}: {msg}{got}")
    return "\n".join(lines)


def _line_of(node: yaml.Node | None, loc: list[str]) -> int | None:
    """1-based line of the deepest YAML node on the path `loc`."""
    line = None
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            match = [(k, v) for k, v in node.value if k.value == key]
            if not match:
                break
            k, node = match[0]
            line = k.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode) and key.isdigit() and int(key) < len(node.value):
            node = node.value[int(key)]
            line = node.start_mark.line + 1
        else:
            break
    return line

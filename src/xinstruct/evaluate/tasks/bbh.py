"""bbh, bbh_zeroshot: BIG-Bench Hard (Suzgun et al. 2022), 27 reasoning tasks, generation scored by exact match.

Why: multi-step reasoning is what cross-lingual instruction tuning may help or hurt beyond knowledge
(MMLU) and reading (Belebele); BBH is the standard probe, and its answers (a letter, True/False, a
number, a bracket sequence, a sorted word list) can be checked exactly. Two prompt modes, as two tasks,
following lm-evaluation-harness (paths below are in its repository, lm_eval/tasks/bbh/):

- `bbh`: the paper's 3-shot chain of thought, lm-eval's `bbh_cot_fewshot` (cot_fewshot/*.yaml and
  _cot_fewshot_template_yaml): the task's cot-prompts text (its description and three worked examples,
  read from the file after the canary header) + "\n\nQ: {input}\nA: Let's think step by step.\n";
  greedy, at most 1,024 new tokens, stop at "</s>", "Q" or "\n\n" (lm-eval's `until`, verbatim: a
  capital Q anywhere ends the completion there, as in lm-eval). Answer ("get-answer" filter): the
  first match of `(?<=the answer is )(.*)(?=.)` (the rest of that line but its last character, i.e.
  without the final period), stripped, else "[invalid]"; `exact_match` compares it with the target as
  it is (no case or punctuation folding). The prompts are lm-eval's character for character, except
  sports_understanding, whose file has a space where lm-eval's yaml has a newline after the first
  example's "Let's think step by step." (the file is the paper's and is used as it is).
- `bbh_zeroshot`: lm-eval's `bbh_zeroshot` (zeroshot/*.yaml, _zeroshot_template_yaml): the task's
  description (the cot-prompts text before its first "\n\nQ:", which is lm-eval's `description`) + "\n\n" +
  "Q: {input}\nA:"; at most 256 new tokens (lm-eval's default), stop at "</s>", "Q:" or "<|im_end|>".
  `exact_match` is lm-eval's strict-match (the whole answer), compared after its `regexes_to_ignore`
  (a final ".", ",", newlines, backslashes, '"') and lower-casing, applied to answer and target.

Both also report `exact_match_flexible`: lm-eval's per-task "flexible-extract" filters (zeroshot/*.yaml
and zeroshot/utils.py; cot_zeroshot/*.yaml uses the same with the last match): True/False,
Yes/No, valid/invalid as words; for the 17 lettered tasks the first "(X)", else an option's text
(case and punctuation folded) mapped to its letter, else ": X"; numbers `[-0-9]+`, else English number
words; sports_understanding and web_of_lies phrases mapped to yes/no; dyck_languages the first run of
brackets, quotes and spaces; word_sorting the list's words in the order of their last mention. `bbh_zeroshot`
takes the first match (zeroshot), `bbh` the last one in its chain of thought (cot_zeroshot); both compare as
the zero-shot strict match does. One deviation: lm-eval reads number words with `word2number` through a
regex that also matches inside words ("someone" -> 1); xinstruct reads whole words with its own parser
("twenty one" -> 21; in "twenty-one" `[-0-9]+` has already matched the hyphen, as in lm-eval). And
xinstruct strips completions (all its generation tasks do), so the strict match accepts " (A)".

Per language the metrics are means over all examples of the 27 tasks (lm-eval's group score, weighted by
size: 6,511 English examples). Each example's id is "<task>/<index>" and its predictions.jsonl line
carries `subtask`, so per-task accuracies (and their bootstrap intervals) come from the per-example
scores; metrics.csv keeps one row per metric and language (its `n` is the language's example count).
`eval.limit` takes the first N examples of each of the 27 tasks (lm-eval's --limit is per task too).

Data, the paper's release (github.com/suzgunmirac/BIG-Bench-Hard), under the data root:
    bbh/bbh/<task>.json            {"examples": [{"input", "target"}, ...]}     English
    bbh/cot-prompts/<task>.txt     the 3-shot CoT prompt (canary line, "-----", description, examples)
    bbh/<lang>/bbh/<task>.json     a translation, same layout (also <lang>/cot-prompts/<task>.txt)
Every language needs all 27 tasks (a mean over fewer would not compare). The registered tasks have
English; a translation in the same layout under `<root>/bbh/<lang>/` is found and evaluated in `<lang>` (or
name it in `languages`, e.g. `BBH(languages=("en", "de"))`).
The "Q:"/"A: Let's think step by step." frame stays English, as lm-eval's prompts do in every task.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from xinstruct.errors import DataError
from xinstruct.evaluate.tasks.common import TaskContext, check_language, data_root, require

VERSION = 1
SUBTASKS = (
    "boolean_expressions",
    "causal_judgement",
    "date_understanding",
    "disambiguation_qa",
    "dyck_languages",
    "formal_fallacies",
    "geometric_shapes",
    "hyperbaton",
    "logical_deduction_five_objects",
    "logical_deduction_seven_objects",
    "logical_deduction_three_objects",
    "movie_recommendation",
    "multistep_arithmetic_two",
    "navigate",
    "object_counting",
    "penguins_in_a_table",
    "reasoning_about_colored_objects",
    "ruin_names",
    "salient_translation_error_detection",
    "snarks",
    "sports_understanding",
    "temporal_sequences",
    "tracking_shuffled_objects_five_objects",
    "tracking_shuffled_objects_seven_objects",
    "tracking_shuffled_objects_three_objects",
    "web_of_lies",
    "word_sorting",
)
COT_FEWSHOT_STOP = ("</s>", "Q", "\n\n")  # cot_fewshot/_cot_fewshot_template_yaml
ZEROSHOT_STOP = ("</s>", "Q:", "<|im_end|>")  # zeroshot/_zeroshot_template_yaml
INVALID = "[invalid]"  # lm-eval's regex filter fallback
# lm-eval's `regexes_to_ignore` of the zero-shot templates, in their order, then lower-cased
IGNORED = (r"\.$", ",", "\n", r"\\", '"')

COT_ANSWER = re.compile(r"(?<=the answer is )(.*)(?=.)")  # cot_fewshot's "get-answer" filter
WORD_ANSWERS = {  # the tasks whose flexible filter is a word regex
    "boolean_expressions": re.compile(r"\b(True|False)\b"),
    "causal_judgement": re.compile(r"\b(Yes|No|yes|no)\b"),
    "navigate": re.compile(r"\b(Yes|No|yes|no)\b"),
    "formal_fallacies": re.compile(r"\b(valid|invalid)\b"),
}
YES_NO = {  # MapRegexFilter: the answer's first phrase (lower-cased), mapped to the target's word
    "sports_understanding": (("no", r"\b(no|not plausible)\b"), ("yes", r"\b(yes|plausible)\b")),
    "web_of_lies": (
        ("no", r"\b(no|does not tell the truth|is not telling the truth)\b"),
        ("yes", r"\b(yes|tells the truth|is telling the truth)\b"),
    ),
}
NUMBER_TASKS = frozenset({"multistep_arithmetic_two", "object_counting"})
LETTERED = frozenset(SUBTASKS) - set(WORD_ANSWERS) - set(YES_NO) - NUMBER_TASKS - {"dyck_languages", "word_sorting"}


@dataclass(frozen=True)
class BBH:
    name: str = "bbh"
    version: int = VERSION
    kind: str = "generation"
    prompt_field: str = "question"  # the text the contamination check compares (the task input)
    languages: tuple[str, ...] = ("en",)  # add the languages of translations in the same layout
    cot: bool = True  # the paper's 3-shot chain of thought; False: lm-eval's zero-shot answer-only prompt
    max_new_tokens: int = 1024  # the task's own length (lm-eval's max_gen_toks), not eval.max_new_tokens
    stop: tuple[str, ...] = COT_FEWSHOT_STOP
    subtasks: tuple[str, ...] = SUBTASKS

    def available_languages(self, ctx: TaskContext) -> tuple[str, ...]:
        """`languages`, plus every translation found in the layout (`<root>/bbh/<lang>/bbh/*.json`)."""
        root = data_root(ctx.data_dir) / "bbh"
        found = sorted(p.name for p in root.glob("*") if p.name != "bbh" and (p / "bbh").is_dir())
        return tuple(dict.fromkeys([*self.languages, *found]))

    def load(self, ctx: TaskContext, lang: str) -> list[dict]:
        lang = check_language(self.name, lang, self.available_languages(ctx))
        base = bbh_directory(ctx, lang)
        rows = []
        for subtask in self.subtasks:
            examples = read_examples(require(base / "bbh" / f"{subtask}.json", self.name))
            shots = cot_prompt(require(base / "cot-prompts" / f"{subtask}.txt", self.name))
            if not self.cot:
                shots = shots.split("\n\nQ:")[0]  # the description, all before the first example (lm-eval's)
            for i, example in enumerate(examples[: ctx.limit]):
                if self.cot:
                    text = f"{shots}\n\nQ: {example['input']}\nA: Let's think step by step.\n"
                else:
                    text = f"{shots}\n\nQ: {example['input']}\nA:"
                rows.append(
                    {
                        "id": f"{subtask}/{i:03d}",
                        "subtask": subtask,
                        "messages": [{"role": "user", "content": text}],
                        "question": example["input"],
                        "answer": example["target"],
                    }
                )
        return rows

    def score(self, ctx: TaskContext, lang: str, rows: list[dict], predictions: list[str]) -> tuple[dict, list[dict]]:
        details = []
        for row, prediction in zip(rows, predictions, strict=True):
            subtask, target = row["subtask"], row["answer"]
            if self.cot:
                extracted = cot_answer(prediction)
                correct = extracted == target
            else:
                extracted = prediction
                correct = folded(extracted) == folded(target)
            flexible = flexible_answer(subtask, prediction, row["question"], last=self.cot)
            details.append(
                {
                    "subtask": subtask,
                    "extracted": extracted,
                    "extracted_flexible": flexible,
                    "exact_match": float(correct),
                    "exact_match_flexible": float(folded(flexible) == folded(target)),
                }
            )
        metrics = {m: sum(d[m] for d in details) / len(details) for m in ("exact_match", "exact_match_flexible")}
        return metrics, details


def bbh_directory(ctx: TaskContext, lang: str) -> Path:
    """English: <root>/bbh (the paper's release); another language: <root>/bbh/<lang>, same layout."""
    root = data_root(ctx.data_dir) / "bbh"
    return root if lang == "en" else root / lang


def read_examples(path: Path) -> list[dict[str, str]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise DataError(f"{path}: not JSON ({e.msg} at line {e.lineno})") from None
    examples = data.get("examples") if isinstance(data, dict) else None
    if not isinstance(examples, list) or not examples:
        raise DataError(f'{path}: expected {{"examples": [{{"input": ..., "target": ...}}, ...]}}')
    for i, example in enumerate(examples):
        if not isinstance(example, dict) or not isinstance(example.get("input"), str) or "target" not in example:
            raise DataError(f"{path}: example {i} needs a string input and a target")
    return [{"input": e["input"], "target": str(e["target"])} for e in examples]


def cot_prompt(path: Path) -> str:
    """The prompt file's text after its canary header (a line, then "-----"), without trailing whitespace."""
    lines = path.read_text(encoding="utf-8").split("\n")
    if "-----" in lines[:3]:
        lines = lines[lines.index("-----") + 1 :]
    text = "\n".join(lines).strip()
    if not text:
        raise DataError(f"{path}: empty prompt")
    return text


# -- answer extraction (lm-eval's filters, reimplemented) ----------------------------------------------------


def cot_answer(completion: str) -> str:
    """cot_fewshot's "get-answer": the first "the answer is X" line's X without its last character, stripped."""
    found = COT_ANSWER.findall(completion)
    return found[0].strip() if found else INVALID


def folded(text: str) -> str:
    """The zero-shot exact_match's view of a string: `regexes_to_ignore` removed in order, lower case."""
    for pattern in IGNORED:
        text = re.sub(pattern, "", text)
    return text.lower()


def flexible_answer(subtask: str, completion: str, question: str, last: bool = False) -> str:
    """lm-eval's "flexible-extract" answer of a BBH task: the first match (zero-shot), or the last (`last`,
    cot_zeroshot's group_select -1); "[invalid]" where nothing matches."""
    pick = -1 if last else 0
    if subtask in WORD_ANSWERS:
        return _pick(WORD_ANSWERS[subtask].findall(completion), pick)
    if subtask in YES_NO:
        return _yes_no(YES_NO[subtask], completion, pick)
    if subtask in NUMBER_TASKS:
        return _number(completion, pick)
    if subtask == "dyck_languages":
        return _pick(re.findall(r"[\" \[\(<{}>\)\]]+", completion), pick)
    if subtask == "word_sorting":
        return _sorted_words(completion, question)
    return _letter(completion, question, pick)


def _pick(found: list[str], pick: int) -> str:
    return found[pick].strip() if found else INVALID


def _fold_punctuation(text: str) -> str:
    """MultiChoiceRegexFilter's ignore_case + ignore_punctuation: lower case, Unicode punctuation (P*) removed."""
    return "".join(ch for ch in text.lower() if not unicodedata.category(ch).startswith("P"))


def _letter(completion: str, question: str, pick: int) -> str:
    """MultiChoiceRegexFilter: "(X)"; else an option's text -> "(X)"; else ": X" -> "(X)"."""
    found = re.findall(r"\([A-Z]\)", completion)
    if found:
        return found[pick].strip()
    # the options "(A) text" of the question, lettered A, B, ... in order of appearance
    letter_of: dict[str, str] = {}
    options = re.findall(r"\([A-Z]\)([^\n^(]*)", question)
    for k, option in enumerate(options):
        letter_of[_fold_punctuation(option.strip())] = f"({chr(ord('A') + k)})"
    by_text = re.findall(
        "|".join(re.escape(_fold_punctuation(o.strip())) for o in options), _fold_punctuation(completion)
    )
    if by_text and by_text[pick].strip():
        text = by_text[pick].strip()
        return letter_of.get(text, text)
    letters = "|".join(chr(ord("A") + k) for k in range(len(options)))
    by_colon = re.findall(rf":\s*({letters})", completion)
    if by_colon and by_colon[pick].strip():
        return f"({by_colon[pick].strip()})"
    return INVALID


def _yes_no(phrases: tuple[tuple[str, str], ...], completion: str, pick: int) -> str:
    """MapRegexFilter: the first (or last) phrase of any kind in the lower-cased answer, mapped to its word."""
    lowered = completion.lower()
    found = re.findall("|".join(pattern for _, pattern in phrases), lowered)
    if not found:
        return INVALID
    chosen = found[pick]
    phrase = next((part for part in chosen if part), "").strip() if isinstance(chosen, tuple) else chosen.strip()
    for value, pattern in phrases:
        if phrase and re.search(pattern, phrase):
            return value
    return INVALID


def _number(completion: str, pick: int) -> str:
    """NumberParseRegexFilter: the first (or last) `[-0-9]+`; else English number words as digits."""
    found = re.findall(r"[-0-9]+", completion)
    if found and found[pick].strip():
        return found[pick].strip()
    runs = NUMBER_WORDS.findall(completion.lower())
    return str(words_to_number(runs[pick])) if runs else INVALID


def _sorted_words(completion: str, question: str) -> str:
    """WordSortFilter: the list's words as the answer mentions them, each at its last mention, in that order."""
    if "List:" not in question:
        return completion
    words = question.split("List:")[1].split()
    if not words:
        return completion
    last: dict[str, int] = {}
    for k, word in enumerate(re.findall("|".join(rf"\b{re.escape(w)}\b" for w in words), completion)):
        last[word] = k
    return " ".join(sorted(last, key=last.__getitem__))


_UNITS = dict(
    zip(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
        "seventeen eighteen nineteen".split(),
        range(20),
        strict=True,
    )
)
_TENS = dict(zip("twenty thirty forty fifty sixty seventy eighty ninety".split(), range(20, 100, 10), strict=True))
_SCALES = {"hundred": 100, "thousand": 10**3, "million": 10**6, "billion": 10**9, "trillion": 10**12}
_WORD = "|".join(sorted([*_UNITS, *_TENS, *_SCALES], key=len, reverse=True))
NUMBER_WORDS = re.compile(rf"\b(?:{_WORD})(?:(?:[ \t,-]|\band\b|&)+(?:{_WORD}))*\b")


def words_to_number(text: str) -> int:
    """An English number in words ("two hundred and forty-one") as an integer."""
    total = current = 0
    for word in re.findall(_WORD, text):
        if word in _UNITS:
            current += _UNITS[word]
        elif word in _TENS:
            current += _TENS[word]
        elif word == "hundred":
            current = max(current, 1) * 100
        else:
            total += max(current, 1) * _SCALES[word]
            current = 0
    return total + current


bbh = BBH()
bbh_zeroshot = BBH(name="bbh_zeroshot", cot=False, max_new_tokens=256, stop=ZEROSHOT_STOP)

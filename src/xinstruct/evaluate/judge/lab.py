"""The lab judge (`judge.backend: lab`): the rubric's aspects decided exactly by the lab world.

An LLM judge reads the request and answer and guesses; the lab knows the truth. For a question of a lab
prompt set (`prompts: lab` or `lab_mixed`: attribute and yes/no questions about held-out people), each
answer gets 5 (pass) or 1 (fail) per aspect, so (score - 1) / 4 is 1 or 0 in the results:
- language: most of the answer's lexicon words are in the question's language (the lab's lexicons, as
  lab_qa's fidelity);
- fluency: the answer is one or more lab sentences, each parsing in one lab language (`World.parse`:
  words of its lexicon, its word order; an attribute's value is one of that attribute's);
- helpfulness: the question is answered: an attribute question names a value of the asked attribute (in
  any language), a yes/no question says yes or no (in any language);
- factuality: what is stated is true: the true value is named and no other value of the attribute
  (a yes/no answer: also its yes or no is right);
- logic: the answer is consistent with itself: it names exactly one value of the attribute, and a
  yes/no answer's yes or no agrees with the value it states ("no, the city of N is paris." to "is the
  city of N rome?" is consistent, "yes, ... paris." is not);
- harmlessness: **not applicable** (the lab world has nothing harmful to say). It is left out of the
  verdicts and of `rubric_mean` (the mean of the five applicable aspects), has no row in metrics.csv,
  and the judge manifest says so (`not_applicable`).
Pairwise: the answer with the higher mean of the applicable aspects wins, equal means tie.
Verdicts are computed, not asked for: nothing goes through the request cache and none can fail.
"""

from __future__ import annotations

import json
import re
from functools import cached_property
from pathlib import Path

from xinstruct.errors import ConfigError, DataError
from xinstruct.evaluate.judge.verdicts import ASPECTS

NOT_APPLICABLE = {"harmlessness": "not applicable: the lab world has no harmful content to judge"}
LAB_ASPECTS = tuple(a for a in ASPECTS if a not in NOT_APPLICABLE)
PASS, FAIL = 5, 1
_STATEMENTS = ("fact", "fact_has", "fact_inverse", "fact_yes", "fact_no")


class LabJudge:
    """Exact verdicts from the world a lab base model was pretrained on."""

    aspects = LAB_ASPECTS
    not_applicable = NOT_APPLICABLE

    def __init__(self, world):
        self.world = world

    @classmethod
    def for_model(cls, base_model: Path) -> LabJudge:
        """The judge of the world a lab base model was pretrained on."""
        from xinstruct.lab.pretrain import load_world

        return cls(load_world(Path(base_model)))

    def identity(self, cache) -> str:
        return f"judge:lab:{self.world.config.model_dump_json()}"

    def answer(self, conversations, description: str = "judging"):
        raise ConfigError("judge backend lab computes its verdicts; it answers no free-text requests")

    # -- words ---------------------------------------------------------------------------------------
    @cached_property
    def _forms(self) -> dict[str, tuple[str, str]]:
        """Written form of a value or of yes/no, in any language -> (kind, English word); kind is the
        attribute (for values) or "answer" (yes/no)."""
        from xinstruct.lab.world import ATTRIBUTES

        out = {}
        for lexicon in self.world.lexicons.values():
            for attr, values in ATTRIBUTES.items():
                for v in values:
                    out[lexicon[v]] = (attr, v)
            for word in ("yes", "no"):
                out[lexicon[word]] = ("answer", word)
        return out

    def question(self, item: dict) -> tuple[str, dict[str, str]]:
        """(kind, slots) of a lab question: kind ask_attr or ask_yesno; DataError for anything else."""
        try:
            kind, slots = self.world.parse(item["prompt"], item["language"])
        except (ValueError, KeyError):
            kind, slots = "", {}
        if kind not in ("ask_attr", "ask_yesno"):
            raise DataError(
                f"judge backend lab: prompt {item.get('id')!r} is not a lab attribute or yes/no question "
                f"({item['prompt']!r}); use judge.prompts lab or lab_mixed"
            )
        return kind, slots

    def scores(self, item: dict, answer: str) -> tuple[dict[str, int], dict]:
        """({aspect: 5 or 1} for the applicable aspects, the evidence they were decided on)."""
        from xinstruct.lab.world import ATTRIBUTES

        kind, slots = self.question(item)
        lang, attr = item["language"], slots["attr"]
        person = next(p for p in self.world.people if p.name == slots["name"])
        truth = person.facts.get(attr)
        words = re.findall(r"\w+", answer.lower())
        named = [self._forms[w] for w in words if w in self._forms]
        values = list(dict.fromkeys(v for k, v in named if k == attr))
        replies = list(dict.fromkeys(v for k, v in named if k == "answer"))
        detected_lang = self.world.detect_language(answer)
        sentences = [s.strip() for s in re.findall(r"[^.?:]+[.?:]", answer)]
        complete = bool(sentences) and "".join(sentences).replace(" ", "") == re.sub(r"\s", "", answer)
        parsed = [self._parse(s) for s in sentences]
        fluent = complete and all(
            p is not None and (p[1] not in _STATEMENTS or p[2].get("value") in ATTRIBUTES.get(p[2].get("attr"), ()))
            for p in parsed
        )
        true_value = values == [truth]
        if kind == "ask_attr":
            helpful = bool(values)
            factual = true_value
            logical = len(values) == 1
        else:
            helpful = len(replies) == 1
            right_reply = "yes" if slots["value"] == truth else "no"
            factual = replies == [right_reply] and (not values or true_value)
            logical = len(replies) == 1 and len(values) == 1 and (replies[0] == "yes") == (values[0] == slots["value"])
        verdict = {
            "language": detected_lang == lang,
            "fluency": fluent,
            "helpfulness": helpful,
            "factuality": factual,
            "logic": logical,
        }
        evidence = {"question": kind, "detected_language": detected_lang, "values": values, "replies": replies,
                    "parsed": [p[1] if p else None for p in parsed]}  # fmt: skip
        return {a: PASS if verdict[a] else FAIL for a in LAB_ASPECTS}, evidence

    def _parse(self, sentence: str) -> tuple[str, str, dict] | None:
        for lang in self.world.config.languages:
            try:
                return (lang, *self.world.parse(sentence, lang))
            except ValueError:
                continue
        return None

    def rubric(self, items: list[dict], answers: list[str]) -> list[tuple[dict[str, int], str]]:
        """(scores, the verdict as JSON text) per answer, as run.py's parsed LLM verdicts."""
        out = []
        for item, answer in zip(items, answers, strict=True):
            scores, evidence = self.scores(item, answer)
            raw = {**scores, "not_applicable": sorted(NOT_APPLICABLE), "evidence": evidence}
            out.append((scores, json.dumps(raw, ensure_ascii=False)))
        return out

    def pairwise(self, items: list[dict], first: list[str], second: list[str]) -> list[tuple[str, str]]:
        """("A" | "B" | "tie", the verdict as JSON text): the higher mean of the applicable aspects wins."""
        out = []
        for item, a, b in zip(items, first, second, strict=True):
            mean_a, mean_b = (sum(self.scores(item, x)[0].values()) for x in (a, b))
            winner = "A" if mean_a > mean_b else "B" if mean_b > mean_a else "tie"
            out.append((winner, json.dumps({"winner": winner, "means": [mean_a, mean_b]})))
        return out

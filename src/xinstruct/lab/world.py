"""The lab world: people with attributes, and every sentence about them in every language.

A world is fully determined by its `WorldConfig` (and so by its seed). Sentences are built
as clauses (subject, verb, object word lists of English words and slots) and rendered in a
language by translating each word with its lexicon and ordering the clause by the language's
word order. Because every sentence comes from a known template, English text can be parsed
back into (template, slots), which makes the lab's translator exact.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property

from pydantic import BaseModel, ConfigDict, Field

from xinstruct.lab.languages import ALL_LANGUAGES, LabLanguage, build_lexicons, language

ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "city": ("london", "paris", "rome", "tokyo", "cairo", "lima", "oslo", "delhi", "sydney", "madrid"),
    "job": ("teacher", "doctor", "farmer", "baker", "pilot", "lawyer", "nurse", "painter", "singer", "driver"),
    "colour": ("red", "blue", "green", "yellow", "black", "white", "purple", "orange"),
    "pet": ("cat", "dog", "horse", "rabbit", "parrot", "fish", "snake", "turtle"),
    "sport": ("tennis", "football", "chess", "golf", "boxing", "rowing", "skiing", "cycling"),
    "month": (
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ),
}
MONTHS = ATTRIBUTES["month"]


@dataclass(frozen=True)
class Template:
    """A sentence shape. Words in braces are slots: {name}, {name2}, {attr}, {value}."""

    name: str
    subj: tuple[str, ...]
    verb: tuple[str, ...]
    obj: tuple[str, ...]
    end: str = "."
    prefix: tuple[str, ...] = ()  # words before the clause, followed by a comma ("yes,")

    def words(self, order: str) -> tuple[str, ...]:
        parts = {"S": self.subj, "V": self.verb, "O": self.obj}
        return tuple(w for key in order for w in parts[key])


def _t(name: str, subj: str, verb: str, obj: str, end: str = ".", prefix: str = "") -> Template:
    return Template(name, tuple(subj.split()), tuple(verb.split()), tuple(obj.split()), end, tuple(prefix.split()))


TEMPLATES: dict[str, Template] = {
    t.name: t
    for t in (
        # statements (the canonical one is what answers use)
        _t("fact", "the {attr} of {name}", "is", "{value}"),
        _t("fact_has", "{name}", "has", "the {attr} {value}"),
        _t("fact_inverse", "{value}", "is", "the {attr} of {name}"),
        _t("fact_yes", "the {attr} of {name}", "is", "{value}", prefix="yes"),
        _t("fact_no", "the {attr} of {name}", "is", "{value}", prefix="no"),
        _t("earlier", "{name}", "is born", "earlier in the year than {name2}"),
        # questions
        _t("ask_attr", "what", "is", "the {attr} of {name}", end="?"),
        _t("ask_yesno", "the {attr} of {name}", "is", "{value}", end="?"),
        _t("ask_earlier", "who", "is born", "earlier in the year , {name} or {name2}", end="?"),
        _t("ask_about", "you", "tell", "me about {name}", end="."),
    )
}

FUNCTION_WORDS = sorted(
    {w for t in TEMPLATES.values() for w in (*t.subj, *t.verb, *t.obj, *t.prefix) if not w.startswith("{") and w != ","}
)
ENGLISH_WORDS = sorted(set(FUNCTION_WORDS) | set(ATTRIBUTES) | {v for vs in ATTRIBUTES.values() for v in vs})


class WorldConfig(BaseModel):
    """Everything that determines a lab world (and, with `PretrainConfig`, its base model)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    seed: int = Field(0, description="Seed for names, facts and lexicons.")
    n_people: int = Field(64, ge=4, description="Number of people (entities) in the world.")
    min_attributes: int = Field(4, ge=1, le=6, description="Fewest attributes a person has.")
    languages: tuple[str, ...] = Field(("en", "qaa", "qab", "qac", "qad"), description="Lab languages in this world.")
    heldout_share: float = Field(0.3, gt=0, lt=1, description="Share of people kept out of instruction tuning.")


@dataclass(frozen=True)
class Person:
    name: str
    facts: dict[str, str] = field(hash=False)
    is_heldout: bool = False


class World:
    """People, facts and lexicons, and the renderer/parser for every sentence about them."""

    def __init__(self, config: WorldConfig) -> None:
        self.config = config
        for tag in config.languages:
            language(tag)  # raises on an unknown tag
        rng = random.Random(f"{config.seed}:world")
        names = _make_names(rng, config.n_people)
        n_heldout = round(config.n_people * config.heldout_share)
        people = []
        for i, name in enumerate(names):
            n_attrs = rng.randint(config.min_attributes, len(ATTRIBUTES))
            attrs = sorted(rng.sample(sorted(ATTRIBUTES), n_attrs), key=list(ATTRIBUTES).index)
            facts = {a: rng.choice(ATTRIBUTES[a]) for a in attrs}
            people.append(Person(name, facts, is_heldout=i >= config.n_people - n_heldout))
        self.people: tuple[Person, ...] = tuple(people)
        self.lexicons = build_lexicons(ENGLISH_WORDS, config.seed, reserved=set(names))

    @property
    def languages(self) -> tuple[LabLanguage, ...]:
        return tuple(lang for lang in ALL_LANGUAGES if lang.tag in self.config.languages)

    @property
    def train_people(self) -> tuple[Person, ...]:
        return tuple(p for p in self.people if not p.is_heldout)

    @property
    def heldout_people(self) -> tuple[Person, ...]:
        return tuple(p for p in self.people if p.is_heldout)

    # -- rendering ---------------------------------------------------------------------------
    def render(self, template: str, slots: dict[str, str], lang: str) -> str:
        """Render one sentence of `template` with English slot values in language `lang`."""
        t = TEMPLATES[template]
        spec = language(lang)
        lexicon = self.lexicons[lang]

        def word(w: str) -> str:
            if w.startswith("{"):
                value = slots[w[1:-1]]
                return spec.script(value) if w in ("{name}", "{name2}") else lexicon[value]
            return w if w == "," else lexicon[w]

        words = [word(w) for w in t.words(spec.order)]
        text = " ".join(words).replace(" ,", ",") + t.end
        if t.prefix:
            text = " ".join(word(w) for w in t.prefix) + ", " + text
        return text

    @cached_property
    def _english_patterns(self) -> list[tuple[str, re.Pattern[str]]]:
        patterns = []
        for name in TEMPLATES:
            t = TEMPLATES[name]
            rendered = " ".join(t.words("SVO")).replace(" ,", ",") + t.end
            if t.prefix:
                rendered = " ".join(t.prefix) + ", " + rendered
            regex = re.escape(rendered)
            for s in ("name", "name2", "attr", "value"):
                regex = regex.replace(re.escape("{" + s + "}"), f"(?P<{s}>[a-z]+)")
            patterns.append((name, re.compile(regex)))
        return patterns

    def parse_english(self, sentence: str) -> tuple[str, dict[str, str]]:
        """Inverse of `render(..., "en")`: the template and slots of one English sentence."""
        for name, pattern in self._english_patterns:
            m = pattern.fullmatch(sentence)
            if m and all(v in ENGLISH_WORDS or v in self.names for k, v in m.groupdict().items()):
                return name, m.groupdict()
        raise ValueError(f"not a lab sentence: {sentence!r}")

    @cached_property
    def _patterns(self) -> dict[str, list[tuple[str, re.Pattern[str]]]]:
        """Per language, (template, regex) of every template rendered with its slots as groups."""
        out: dict[str, list[tuple[str, re.Pattern[str]]]] = {}
        for lang in self.languages:
            lexicon = self.lexicons[lang.tag]

            def part(w: str, lexicon: dict[str, str] = lexicon) -> str:
                if w.startswith("{"):
                    return f"(?P<{w[1:-1]}>\\w+)"
                return "," if w == "," else re.escape(lexicon[w])

            patterns = []
            for name, t in TEMPLATES.items():
                regex = " ".join(part(w) for w in t.words(lang.order)).replace(" ,", ",") + re.escape(t.end)
                if t.prefix:
                    regex = " ".join(part(w) for w in t.prefix) + ", " + regex
                patterns.append((name, re.compile(regex)))
            out[lang.tag] = patterns
        return out

    @cached_property
    def _reverse(self) -> dict[str, dict[str, dict[str, str]]]:
        """Per language: written form -> English, for names, attributes and values."""
        values = {v for vs in ATTRIBUTES.values() for v in vs}
        out = {}
        for lang in self.languages:
            lexicon = self.lexicons[lang.tag]
            out[lang.tag] = {
                "name": {lang.script(n): n for n in self.names},
                "attr": {lexicon[a]: a for a in ATTRIBUTES},
                "value": {lexicon[v]: v for v in values},
            }
        return out

    def parse(self, sentence: str, lang: str) -> tuple[str, dict[str, str]]:
        """Inverse of `render(..., lang)`: the template and English slots of one sentence in `lang`.

        ValueError when it is not a lab sentence of that language (any template, words of its lexicon,
        known names; a value need not be one of the attribute's: "the colour of N is paris." parses)."""
        reverse = self._reverse[lang]
        for name, pattern in self._patterns[lang]:
            m = pattern.fullmatch(sentence.strip())
            if not m:
                continue
            slots = {}
            for slot, form in m.groupdict().items():
                kind = "name" if slot in ("name", "name2") else slot
                if form not in reverse[kind]:
                    break
                slots[slot] = reverse[kind][form]
            else:
                return name, slots
        raise ValueError(f"not a lab sentence in {lang}: {sentence!r}")

    @cached_property
    def names(self) -> frozenset[str]:
        return frozenset(p.name for p in self.people)

    def translate(self, text: str, lang: str) -> str:
        """Exact translation of English lab text (one or more sentences) into `lang`."""
        sentences = re.findall(r"[^.?:]+[.?:]", text)
        if "".join(sentences).replace(" ", "") != text.replace(" ", ""):
            raise ValueError(f"not lab text: {text!r}")
        return " ".join(self.render(*self.parse_english(s.strip()), lang) for s in sentences)

    @cached_property
    def _word_language(self) -> dict[str, str]:
        return {w: tag for tag, lexicon in self.lexicons.items() for w in lexicon.values()}

    def word_languages(self, text: str) -> list[str]:
        """The language of each lexicon word in `text` (names and unknown words are skipped)."""
        words = re.findall(r"\w+", text.lower())
        return [self._word_language[w] for w in words if w in self._word_language]

    def detect_language(self, text: str) -> str | None:
        """The language most of `text`'s lexicon words are in (the first seen on a tie); None without any."""
        counts = Counter(self.word_languages(text)).most_common(1)
        return counts[0][0] if counts else None


def _make_names(rng: random.Random, n: int) -> list[str]:
    onsets, vowels, codas = "bdfgklmnprstvz", "aeiou", ("", "", "n", "r", "l", "s")
    names: set[str] = set()
    out = []
    while len(out) < n:
        name = "".join(rng.choice(onsets) + rng.choice(vowels) for _ in range(rng.choice((2, 2, 3))))
        name += rng.choice(codas)
        if name not in names and name not in ENGLISH_WORDS:
            names.add(name)
            out.append(name)
    return out

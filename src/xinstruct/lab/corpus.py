"""Text of the lab world: the pretraining corpus, instruction data and evaluation questions.

Pretraining stands in for multilingual pretraining: every fact about every person in every
language (biographies with shuffled fact order and varied templates), a few parallel
sentences, and questions (most of them answered) so question words and answers are known. Instruction data is
English question/answer pairs about the *train* people; evaluation asks about held-out
people, whose facts the model can only know from pretraining.
"""

from __future__ import annotations

import random

from xinstruct.data.schema import Example, chat
from xinstruct.lab.world import ATTRIBUTES, MONTHS, World

# Weights of the statement templates in biographies: the canonical one (which answers use) at
# 0.7 (LAB-NOTES.md used 0.5; 0.7 recalls more within the CPU budget of this machine).
_BIO_TEMPLATES = (("fact", 0.7), ("fact_has", 0.15), ("fact_inverse", 0.15))


def pretraining_documents(world: World, epoch: int, question_docs: int | None = None) -> list[str]:
    """One epoch of pretraining documents; a different shuffle and phrasing every epoch.

    `question_docs`: Q&A documents (5 questions each) per epoch; default one per person."""
    rng = random.Random(f"{world.config.seed}:corpus:{epoch}")
    names, weights = zip(*_BIO_TEMPLATES, strict=True)
    docs = []
    tags = [lang.tag for lang in world.languages]
    for person in world.people:
        attrs = list(person.facts)
        for tag in tags:
            rng.shuffle(attrs)
            sentences = [
                world.render(
                    rng.choices(names, weights)[0], {"attr": a, "name": person.name, "value": person.facts[a]}, tag
                )
                for a in attrs
            ]
            docs.append(" ".join(sentences))
        if len(tags) > 1:  # one parallel pair per person, direction at random
            attr = rng.choice(attrs)
            slots = {"attr": attr, "name": person.name, "value": person.facts[attr]}
            pair = [world.render("fact", slots, "en"), world.render("fact", slots, rng.choice(tags[1:]))]
            rng.shuffle(pair)
            docs.append(" = ".join(pair))
    for _ in range(len(world.people) if question_docs is None else question_docs):
        tag = rng.choice(tags)
        docs.append(" ".join(_question_item(world, rng, tag) for _ in range(5)))
    rng.shuffle(docs)
    return docs


# Kinds of question in Q&A documents, with weights.
_QUESTION_KINDS = (("ask_attr", 4), ("ask_yesno", 2), ("ask_earlier", 1), ("ask_about", 1))


def _question_item(world: World, rng: random.Random, tag: str) -> str:
    """A random question, answered for attribute and yes/no questions (web Q&A in every
    language). Without answered questions, tuning taught restating the question in English only;
    with answers about train people only, the base learned *not* to answer about held-out
    people (1-7% in text form). The answer sentence is the biographies' canonical one, and the
    chat format stays unseen until tuning."""
    a, b = rng.sample(world.people, 2)
    kinds, weights = zip(*_QUESTION_KINDS, strict=True)
    kind = rng.choices(kinds, weights)[0]
    attr = rng.choice(list(a.facts))
    value = a.facts[attr]
    if kind == "ask_yesno" and rng.random() < 0.5:
        value = _other_value(rng, attr, a.facts[attr])
    slots = {"attr": attr, "name": a.name, "name2": b.name, "value": value}
    question = world.render(kind, slots, tag)
    if kind not in ("ask_attr", "ask_yesno"):
        return question
    answer = {"ask_attr": "fact", "ask_yesno": "fact_yes" if value == a.facts[attr] else "fact_no"}[kind]
    return question + " " + world.render(answer, {**slots, "value": a.facts[attr]}, tag)


def instruction_examples(world: World, heldout: bool = False) -> list[Example]:
    """The English instruction pool about train people (or held-out ones), deterministic.

    Per person: every attribute question, two yes/no questions per fact (one true, one
    false), one description and up to three month comparisons.
    """
    rng = random.Random(f"{world.config.seed}:instructions:{heldout}")
    people = world.heldout_people if heldout else world.train_people
    out: list[Example] = []

    def add(task: str, prompt: str, response: str) -> None:
        out.append(Example(f"lab-{len(out):05d}", chat(prompt, response), "lab", "en", "en", task))

    for person in people:
        for attr, value in person.facts.items():
            slots = {"attr": attr, "name": person.name, "value": value}
            add("ask_attr", world.render("ask_attr", slots, "en"), world.render("fact", slots, "en"))
        for attr, value in person.facts.items():
            wrong = _other_value(rng, attr, value)
            for asked, answer in sorted(((value, "fact_yes"), (wrong, "fact_no")), key=lambda _: rng.random()):
                q = world.render("ask_yesno", {"attr": attr, "name": person.name, "value": asked}, "en")
                add("ask_yesno", q, world.render(answer, {"attr": attr, "name": person.name, "value": value}, "en"))
        facts = list(person.facts.items())[:3]
        description = " ".join(
            world.render("fact", {"attr": a, "name": person.name, "value": v}, "en") for a, v in facts
        )
        add("ask_about", world.render("ask_about", {"name": person.name}, "en"), description)
        if "month" in person.facts:
            others = [p for p in people if p.facts.get("month") not in (None, person.facts["month"])]
            for other in rng.sample(others, min(3, len(others))):
                first, second = (person, other) if rng.random() < 0.5 else (other, person)
                earlier = min((first, second), key=lambda p: MONTHS.index(p.facts["month"]))
                later = second if earlier is first else first
                add(
                    "ask_earlier",
                    world.render("ask_earlier", {"name": first.name, "name2": second.name}, "en"),
                    world.render("earlier", {"name": earlier.name, "name2": later.name}, "en"),
                )
    return out


def _other_value(rng: random.Random, attr: str, value: str) -> str:
    """A value of `attr` other than `value` (the false option of a yes/no question)."""
    return rng.choice([v for v in ATTRIBUTES[attr] if v != value])


def translate_example(world: World, example: Example, lang: str) -> Example:
    """The lab's exact translation of an example into `lang` (the perfect MT backend)."""
    messages = tuple({**m, "content": world.translate(m["content"], lang)} for m in example.messages)
    return example.translated(f"{example.id}-{lang}", messages, lang)


def qa_questions(world: World, lang: str) -> list[dict[str, str]]:
    """lab_qa: every attribute question about every held-out person, in `lang`."""
    rows = []
    for person in world.heldout_people:
        for attr, value in person.facts.items():
            slots = {"attr": attr, "name": person.name, "value": value}
            rows.append(
                {
                    "id": f"{person.name}-{attr}",
                    "question": world.render("ask_attr", slots, lang),
                    "answer": world.render("fact", slots, lang),
                    "value": value,
                    "attr": attr,
                }
            )
    return rows


def yesno_questions(world: World, lang: str) -> list[dict[str, str]]:
    """One yes/no question per fact of every held-out person, in `lang`: the true value is asked for
    about half of them (a seeded coin per person and attribute, the same in every language), another
    value otherwise. The reference is the canonical answer ("yes, the city of N is V." / "no, ...")."""
    rows = []
    for person in world.heldout_people:
        for attr, value in person.facts.items():
            rng = random.Random(f"{world.config.seed}:yesno:{person.name}:{attr}")
            asked = value if rng.random() < 0.5 else _other_value(rng, attr, value)
            slots = {"attr": attr, "name": person.name, "value": asked}
            answer = "fact_yes" if asked == value else "fact_no"
            rows.append(
                {
                    "id": f"{person.name}-{attr}-yesno",
                    "question": world.render("ask_yesno", slots, lang),
                    "answer": world.render(answer, {**slots, "value": value}, lang),
                    "value": value,
                    "attr": attr,
                    "asked": asked,
                }
            )
    return rows


# Statement templates of the lab parallel corpus (each fact of each train person in each).
_PARALLEL_TEMPLATES = ("fact", "fact_has", "fact_inverse")


def parallel_sentences(world: World) -> list[dict[str, str]]:
    """The lab parallel corpus (`format: lab_parallel`): one line per train person, fact and statement
    template, each line the same sentence in every language of the world ({tag: sentence}), in a fixed
    order. Only train people: no line is about a held-out person, so none is (or answers) a lab_qa
    question; the facts are the ones pretraining already states."""
    lines = []
    for person in world.train_people:
        for attr, value in person.facts.items():
            slots = {"attr": attr, "name": person.name, "value": value}
            for template in _PARALLEL_TEMPLATES:
                lines.append({lang.tag: world.render(template, slots, lang.tag) for lang in world.languages})
    return lines

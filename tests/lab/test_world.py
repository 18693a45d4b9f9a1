import re

import pytest

from xinstruct.lab.corpus import instruction_examples, pretraining_documents, qa_questions, translate_example
from xinstruct.lab.languages import LAB_LANGUAGES
from xinstruct.lab.world import ATTRIBUTES, ENGLISH_WORDS, TEMPLATES, World, WorldConfig


@pytest.fixture(scope="module")
def world() -> World:
    return World(WorldConfig(seed=3, n_people=40, heldout_share=0.5))


def test_lexicons_are_bijective_and_disjoint(world):
    seen: dict[str, str] = {}
    for tag, lexicon in world.lexicons.items():
        assert sorted(lexicon) == ENGLISH_WORDS  # every English word the world uses
        assert len(set(lexicon.values())) == len(lexicon)  # bijective
        for form in lexicon.values():
            if tag != "en":
                assert form not in seen, f"{form!r} in both {seen.get(form)} and {tag}"
                assert form not in world.names
            seen[form] = tag


def test_every_fact_is_expressible_in_every_language(world):
    for person in world.people:
        for attr, value in person.facts.items():
            english = world.render("fact", {"attr": attr, "name": person.name, "value": value}, "en")
            for lang in world.config.languages:
                text = world.render("fact", {"attr": attr, "name": person.name, "value": value}, lang)
                assert world.translate(english, lang) == text
                assert world.lexicons[lang][value] in text.split(" ")[-1] or lang == "qab"
                assert world.lexicons[lang][value] in text


def test_languages_really_differ(world):
    slots = {"attr": "city", "name": world.people[0].name, "value": "rome"}
    orders = {lang.tag: lang.order for lang in LAB_LANGUAGES}
    assert set(orders.values()) >= {"SVO", "SOV", "VSO"}
    qac = world.render("fact", slots, "qac")
    assert re.search("[а-я]", qac) and not re.search("[a-z]", qac)  # Cyrillic, names included
    # the verb ("is") is last in the verb-final language and first in the verb-first one
    is_ = {tag: world.lexicons[tag]["is"] for tag in ("qab", "qad")}
    assert world.render("fact", slots, "qab").rstrip(".").split()[-1] == is_["qab"]
    assert world.render("fact", slots, "qad").split()[0] == is_["qad"]


def test_world_is_deterministic_and_seeded():
    a, b, c = (
        World(WorldConfig(seed=1, n_people=20)),
        World(WorldConfig(seed=1, n_people=20)),
        World(WorldConfig(seed=2, n_people=20)),
    )
    assert a.people == b.people and a.lexicons == b.lexicons
    assert a.people != c.people
    assert pretraining_documents(a, 0) == pretraining_documents(b, 0)
    assert pretraining_documents(a, 0) != pretraining_documents(a, 1)


def test_people_are_split_and_questions_ask_heldout_people(world):
    assert len(world.heldout_people) == 20 and len(world.train_people) == 20
    train_names = {p.name for p in world.train_people}
    for ex in instruction_examples(world):
        assert not any(p.name in ex.prompt for p in world.heldout_people)
    questions = qa_questions(world, "qad")
    assert len(questions) == sum(len(p.facts) for p in world.heldout_people)
    assert not any(q["id"].split("-")[0] in train_names for q in questions)


def test_translation_of_every_instruction_task(world):
    examples = instruction_examples(world)
    assert {ex.task for ex in examples} == {"ask_attr", "ask_yesno", "ask_about", "ask_earlier"}
    for ex in examples[:50]:
        out = translate_example(world, ex, "qab")
        assert out.lang == out.response_lang == "qab" and out.translated_from == ex.id
        assert all(w in world.lexicons["qab"].values() or w in world.names for w in re.findall(r"\w+", out.response))


def test_translate_rejects_non_lab_text(world):
    with pytest.raises(ValueError):
        world.translate("hello there, general kenobi.", "qaa")


def test_attribute_values_and_templates_are_in_the_lexicon(world):
    for values in ATTRIBUTES.values():
        assert set(values) <= set(ENGLISH_WORDS)
    assert "fact" in TEMPLATES

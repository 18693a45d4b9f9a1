"""xinstruct.languages: one owner of language tags (validation, the same-language rule, names, dataset codes)."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from xinstruct.languages import (
    SEAEVAL_NAMES,
    Lang,
    LangOrAuto,
    check_tag,
    display_name,
    flores_code,
    language_key,
    language_subtag,
    same_language,
    tag_from_code,
)


def test_tags_are_validated_and_standardised():
    assert check_tag("EN_us") == "en-US" and check_tag("zh-hant") == "zh-Hant" and check_tag("qaa") == "qaa"
    assert TypeAdapter(Lang).validate_python("de-de") == "de-DE"
    assert TypeAdapter(LangOrAuto).validate_python("auto") == "auto"
    for bad in ("auto", "english", "", 3):
        with pytest.raises((ValueError, ValidationError), match="not a valid BCP-47 language tag"):
            TypeAdapter(Lang).validate_python(bad) if bad != 3 else check_tag(bad)


def test_config_still_exports_the_tag_types():
    """Other modules import them from config; they must be the very same objects."""
    import xinstruct.config as config
    import xinstruct.languages as languages

    assert config.Lang is languages.Lang and config.LangOrAuto is languages.LangOrAuto
    assert config._check_lang is languages.check_tag


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("zh-CN", "zh"),  # NTREX vs XQuAD: the region is not a different language
        ("zh-Hans", "zh"),  # the default script, explicit
        ("zho-CN", "zh-CN"),  # ISO 639-3 (NTREX file codes)
        ("cmn", "zh"),  # macrolanguage member
        ("arb", "ar"),
        ("en-US", "en-GB"),
        ("zh-TW", "zh-Hant"),  # Taiwan implies Traditional
        ("zh-HK", "zh-TW"),
        ("deu", "de"),
        ("ko-Kore", "ko"),
        ("qaa", "qaa"),
        ("auto", "auto"),  # a non-tag is only itself
    ],
)
def test_same_language(a, b):
    assert same_language(a, b) and same_language(b, a) and language_key(a) == language_key(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("zh-Hant", "zh-Hans"),  # scripts explicit on both sides and different
        ("zh-Hant", "zh"),  # zh implies Hans
        ("zh-TW", "zh-CN"),  # both implied by the region, and different
        ("sr-Latn", "sr"),
        ("hi-Latn", "hi"),
        ("no", "nb"),  # macrolanguages with several members are not merged
        ("qaa", "qab"),
        ("en", "auto"),
        ("zh", "ja"),
    ],
)
def test_different_languages(a, b):
    assert not same_language(a, b) and language_key(a) != language_key(b)


def test_language_key_is_the_canonical_form():
    keys = {t: language_key(t) for t in ("zh", "zh-CN", "zh-Hans", "cmn", "zh-TW", "zh-Hant", "en-US", "sr-Latn")}
    assert keys == {"zh": "zh", "zh-CN": "zh", "zh-Hans": "zh", "cmn": "zh", "zh-TW": "zh-Hant",
                    "zh-Hant": "zh-Hant", "en-US": "en", "sr-Latn": "sr-Latn"}  # fmt: skip
    assert language_key("und") == "und" and language_key("not a tag") == "not a tag"


def test_language_subtag_and_names():
    assert [language_subtag(t) for t in ("zh-Hans", "pt-BR", "arb", "deu", "qaa", "auto")] == [
        "zh", "pt", "ar", "de", "qaa", "auto"
    ]  # fmt: skip
    assert display_name("de") == "German" and display_name("de", "de") == "Deutsch"
    assert display_name("zh-TW") == "Chinese" and display_name("zh-Hant", detailed=True) == "Chinese (Traditional)"
    assert display_name("qaa") == "qaa" and display_name("qaa", "de") == "qaa"  # unknown in any language: the tag


def test_dataset_codes():
    # NTREX-128 file codes
    assert [tag_from_code(c) for c in ("deu", "arb", "zho-CN", "eng", "de")] == ["de", "ar", "zh-CN", "en", "de"]
    assert tag_from_code("ref") is None and tag_from_code("2019") is None and tag_from_code("DEU") is None
    # FLORES-200 (NLLB, Belebele)
    got = [flores_code(t) for t in ("de", "zh", "zh-TW", "ar", "ko", "fil", "sr-Latn")]
    assert got == ["deu_Latn", "zho_Hans", "zho_Hant", "arb_Arab", "kor_Hang", "tgl_Latn", "srp_Latn"]
    # SeaEval's JSON keys
    assert SEAEVAL_NAMES["zh"] == "Chinese" and SEAEVAL_NAMES["fil"] == "Filipino"


def test_the_old_places_use_this_module():
    """One table each: the translate backends, the phrase tables, Belebele, SeaEval and NTREX read from here."""
    from xinstruct.data.translate import backends
    from xinstruct.evaluate.tasks import seaeval
    from xinstruct.evaluate.tasks.belebele import flores_code as belebele_code
    from xinstruct.recipes import phrases

    assert backends.flores_code is flores_code and belebele_code is flores_code
    assert seaeval.LANGUAGE_NAMES is SEAEVAL_NAMES
    assert backends.short_code("zh-Hans") == "zh" and backends.language_name("qaa") == "qaa"
    assert backends.language_name("zh-Hant") == "Chinese (Traditional) (zh-Hant)"
    assert phrases.base_language("zh-CN") == "zh" and phrases.language_name("de", "fr") == "allemand"

"""Language tags, in one place: validation, comparison, names, and the codes datasets and models use.

Everything in xinstruct names a language by a BCP-47 tag (`en`, `zh-CN`, `zh-Hant`, lab languages
`qaa`..`qtz`). Datasets do not agree on tags (NTREX says `zh-CN`, XQuAD `zh`, a data manifest says
whatever the recipe was given), so whoever asks "is this the same language?" asks here, never with `==`.

The rule (`language_key`, `same_language`): two tags name the same language when
1. their language subtags agree after macrolanguage normalisation (`arb` = `ar`, `cmn` = `zh`,
   `zsm` = `ms`; ISO 639-3 codes become ISO 639-1 where one exists: `deu` = `de`), and
2. their scripts agree, where a tag's script is its script subtag if it has one, else the script
   CLDR's likely-subtags data implies from its language and region (`zh`, `zh-CN` -> Hans;
   `zh-TW`, `zh-HK` -> Hant; `sr` -> Cyrl).
Regions are otherwise ignored: `en-US` = `en-GB` = `en`, `pt-BR` = `pt`, `zh-CN` = `zh` = `zh-Hans`;
but `zh-Hant` = `zh-TW` != `zh`, and `sr-Latn` != `sr`, `hi-Latn` != `hi` (a different script is a
different thing to read and to tokenise). `language_key` is the canonical form of that rule (the
language subtag, plus the script only where it is not the language's default), so grouping by
`language_key` and comparing with `same_language` always agree. A string that is not a tag (e.g.
`auto`) is its own key. Macrolanguages with several members are not merged: `no` != `nb`.

Dataset- and model-specific codes live here too, so a new dataset adds a table here rather than a
third copy of langcodes calls: FLORES-200 codes (NLLB, Belebele), language subtags (M2M100, Marian
model names, phrase tables), NTREX's file-name codes (ISO 639-3, `zho-CN`, `arb`), SeaEval's
English field names.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Annotated

import langcodes
from pydantic import AfterValidator

from xinstruct.errors import DataError

__all__ = [
    "SEAEVAL_NAMES",
    "Lang",
    "LangOrAuto",
    "check_tag",
    "display_name",
    "flores_code",
    "language_key",
    "language_subtag",
    "same_language",
    "tag_from_code",
]


# -- validation ------------------------------------------------------------------------------------


def check_tag(tag: str) -> str:
    """The standard form of a valid BCP-47 tag (`EN_us` -> `en-US`, `zho` -> `zh`); ValueError otherwise.

    Not macro-normalised (`cmn` stays `cmn`): what the user wrote stays recognisable in outputs;
    comparisons normalise (`same_language`)."""
    if not isinstance(tag, str) or not langcodes.tag_is_valid(tag):
        raise ValueError(
            f"{tag!r} is not a valid BCP-47 language tag (e.g. 'en', 'zh-Hans'; lab languages use qaa..qtz)"
        )
    return langcodes.standardize_tag(tag)


def _check_tag_or_auto(tag: str) -> str:
    return tag if tag == "auto" else check_tag(tag)


Lang = Annotated[str, AfterValidator(check_tag)]
LangOrAuto = Annotated[str, AfterValidator(_check_tag_or_auto)]


# -- comparison ------------------------------------------------------------------------------------


def _parse(tag: str) -> langcodes.Language | None:
    """The macro-normalised parsed tag, or None when `tag` is not a language tag."""
    try:
        return langcodes.Language.get(langcodes.standardize_tag(tag, macro=True))
    except (ValueError, AttributeError, TypeError):  # LanguageTagError is a ValueError; None/non-str
        return None


@lru_cache(maxsize=4096)
def _default_script(language: str) -> str | None:
    return langcodes.Language.get(language).maximize().script


@lru_cache(maxsize=4096)
def language_key(tag: str) -> str:
    """The canonical form two tags share exactly when they name the same language (module docstring).

    `zh`, `zh-CN`, `zh-Hans`, `zho-CN`, `cmn` -> `zh`; `zh-TW`, `zh-Hant` -> `zh-Hant`; `en-US` -> `en`;
    `arb` -> `ar`; `sr-Latn` -> `sr-Latn`; `qaa` -> `qaa`; a non-tag (`auto`) -> itself."""
    parsed = _parse(tag)
    if parsed is None or not parsed.language:
        return tag
    script = parsed.script or parsed.maximize().script
    if script is None or script == _default_script(parsed.language):
        return parsed.language
    return f"{parsed.language}-{script}"


def same_language(a: str, b: str) -> bool:
    """Whether tags `a` and `b` name the same language: `same_language("zh-CN", "zh")` is True,
    `same_language("zh-Hant", "zh")` False (module docstring: language subtag, then script)."""
    return a == b or language_key(a) == language_key(b)


def language_subtag(tag: str) -> str:
    """The (macro-normalised) language subtag, ISO 639-1 where one exists: `zh-Hans` -> `zh`, `arb` -> `ar`,
    `deu` -> `de`; the tag itself if it is not one. Phrase tables, M2M100 codes and Marian model names
    are per language, not per region or script."""
    parsed = _parse(tag)
    return parsed.language if parsed is not None and parsed.language else tag


# -- names -----------------------------------------------------------------------------------------


def display_name(tag: str, in_language: str = "en", *, detailed: bool = False) -> str:
    """The name of `tag`'s language in `in_language` ("German", "Deutsch", "독일어"); the tag itself when
    unknown (lab languages) or when the names (the language_data package) are missing.

    Per language by default (`zh-TW` -> "Chinese"): phrasings fill it into fixed sentences. `detailed`
    names the whole tag (`zh-Hant` -> "Chinese (Traditional)"), for a translator's system prompt."""
    try:
        named = langcodes.Language.get(tag) if detailed else langcodes.Language.get(language_subtag(tag))
        if not named.has_name_data():  # lab languages, `und`: no name in any language
            return tag
        return named.display_name(language_subtag(in_language))
    except Exception:  # names need the language_data package; a bare tag still works
        return tag


# -- dataset and model codes -----------------------------------------------------------------------

# ISO 639 macrolanguages whose FLORES-200 code is one specific member language.
_FLORES_LANGUAGE = {
    "ar": "arb",
    "fa": "pes",
    "ms": "zsm",
    "lv": "lvs",
    "sw": "swh",
    "uz": "uzn",
    "ne": "npi",
    "mn": "khk",
    "om": "gaz",
    "qu": "quy",
    "sq": "als",
    "az": "azj",
    "yi": "ydd",
    "no": "nob",
    "et": "est",
    "ku": "kmr",
    "ps": "pbt",
    "mg": "plt",
    "or": "ory",
    "ay": "ayr",
    "gn": "grn",
}
# Where FLORES-200 names differ from what langcodes derives: Korean is written Hang there
# (langcodes says Kore), and Filipino is listed as Tagalog.
_FLORES_FIXES = {"kor_Kore": "kor_Hang", "fil_Latn": "tgl_Latn"}


def flores_code(tag: str) -> str:
    """FLORES-200 code (NLLB, Belebele) of a BCP-47 tag: de -> deu_Latn, zh -> zho_Hans, zh-TW -> zho_Hant,
    ar -> arb_Arab."""
    lang = langcodes.Language.get(tag)
    script = lang.script or lang.maximize().script
    code = _FLORES_LANGUAGE.get(lang.language) or lang.to_alpha3()
    if not script:
        raise DataError(f"language {tag!r}: no script known for a FLORES-200 code; give one, e.g. {tag}-Latn")
    code = f"{code}_{script}"
    return _FLORES_FIXES.get(code, code)


_FILE_CODE = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]+)*")


def tag_from_code(code: str) -> str | None:
    """The BCP-47 tag of a language code in a dataset's file name, None if `code` is not one.

    NTREX-128 names its files by ISO 639-3 codes with an optional region (`deu`, `arb`, `zho-CN`):
    `deu` -> `de`, `arb` -> `ar` (macrolanguage), `zho-CN` -> `zh-CN`; BCP-47 codes pass unchanged."""
    if not _FILE_CODE.fullmatch(code) or not langcodes.tag_is_valid(code):
        return None
    return langcodes.standardize_tag(code, macro=True)


# SeaEval's cross-lingual files key each question's versions by English language name.
SEAEVAL_NAMES: dict[str, str] = {
    "en": "English",
    "zh": "Chinese",
    "id": "Indonesian",
    "fil": "Filipino",
    "es": "Spanish",
    "vi": "Vietnamese",
    "ms": "Malay",
}

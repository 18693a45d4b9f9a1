"""Language identification with lingua, returning BCP-47 tags.

Restricting the candidate languages (the experiment's) makes detection faster and more
accurate; lab languages (qaa..qtz) are unknown to lingua and are dropped from candidates.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from xinstruct.languages import language_subtag


@lru_cache(maxsize=8)
def _detector(candidates: tuple[str, ...] | None):
    from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

    if candidates:
        languages = []
        for tag in candidates:
            code = language_subtag(tag)
            try:
                languages.append(Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper())))
            except (AttributeError, ValueError):
                continue  # not a language lingua knows (e.g. a lab language)
        if len(languages) >= 2:
            return LanguageDetectorBuilder.from_languages(*languages).build()
        if len(languages) == 1:
            return languages[0]
    return LanguageDetectorBuilder.from_all_languages().with_preloaded_language_models().build()


def detect_language(text: str, candidates: Iterable[str] | None = None) -> str | None:
    """The BCP-47 tag of `text`'s language, or None when lingua cannot tell."""
    detector = _detector(tuple(sorted(candidates)) if candidates else None)
    if not hasattr(detector, "detect_language_of"):
        return detector.iso_code_639_1.name.lower()  # a single candidate
    language = detector.detect_language_of(text)
    return None if language is None else language.iso_code_639_1.name.lower()

"""Split text into protected spans (code, URLs, placeholders, tags) and translatable prose.

Only prose is ever sent to a translation backend: everything else comes back byte-identical.

- fenced code blocks (```` ``` ```` or `~~~`, to the closing fence or the end of the text), inline code (`` `x` ``)
- URLs (`http(s)://`, `ftp://`, `www.`; trailing sentence punctuation stays prose) and e-mail addresses
- placeholders: `{name}`, `{0}`, `{}`, `{name:>10}`, `{{x}}`, `{% tag %}`, `${x}`, printf `%s`/`%d`/`%(name)s`/`%%`
- markup tags (`<b>`, `</p>`, `<br/>`, `<a href="...">`) and chat special tokens (`<|im_start|>`)

Prose is further split at newlines (MT models see short inputs); each piece's leading and trailing
whitespace is kept out of what is translated, and a piece without any letter (numbers, punctuation)
is not translated at all. Joining the pieces' texts always gives back the input exactly.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_PROTECTED = re.compile(
    "|".join(
        (
            r"(?s:(?P<fence>`{3,}|~{3,}).*?(?:(?P=fence)|\Z))",  # fenced code block
            r"``[^\n]+?``|`[^`\n]+`",  # inline code
            r"(?P<url>\b(?:https?|ftp)://[^\s<>\"'`]+|\bwww\.[^\s<>\"'`]+)",
            r"(?P<email>\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+)",
            r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}",  # jinja / mustache
            r"\$\{[^{}\n]*\}",  # shell / JS template
            r"\{[A-Za-z_]?[\w.]*(?:\[[^\]\n]*\])?(?:![rsa])?(?::[^{}\n]*)?\}",  # str.format
            r"%%|%(?:\(\w+\))?[-+#0]*(?:\d+|\*)?(?:\.(?:\d+|\*))?[sdifeEgGxXocr](?![A-Za-z])",  # printf
            r"<\|[^|<>\n]*\|>",  # chat special tokens
            r"</?[A-Za-z][\w:.-]*(?:\s+[^<>]*?)?/?>",  # markup tags
        )
    )
)
_TRAILING = ".,;:!?'\")]}>"
_NEWLINES = re.compile(r"(\s*\n\s*)")
_STRIP = re.compile(r"(\s*)(.*?)(\s*)", re.S)


@dataclass(frozen=True)
class Piece:
    """A span of the text; `translate` pieces are stripped prose with at least one letter."""

    text: str
    translate: bool


def _trim_url(url: str) -> str:
    """Drop trailing sentence punctuation, keeping a closing bracket that the URL itself opened."""
    while url and url[-1] in _TRAILING:
        closer = url[-1]
        opener = {")": "(", "]": "[", "}": "{", ">": "<"}.get(closer)
        if opener is not None and url.count(opener) >= url.count(closer):
            break
        url = url[:-1]
    return url


def protected_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of every protected span, in order and non-overlapping."""
    spans = []
    for m in _PROTECTED.finditer(text):
        start, end = m.span()
        if m.group("url") or m.group("email"):
            end = start + len(_trim_url(m.group()))
        if end > start:
            spans.append((start, end))
    return spans


def _prose_pieces(prose: str) -> Iterable[Piece]:
    for i, part in enumerate(_NEWLINES.split(prose)):
        if not part:
            continue
        if i % 2:  # a newline run with its surrounding whitespace
            yield Piece(part, False)
            continue
        lead, core, trail = _STRIP.fullmatch(part).groups()
        if lead:
            yield Piece(lead, False)
        if core:
            yield Piece(core, any(ch.isalpha() for ch in core))
        if trail:
            yield Piece(trail, False)


def split_text(text: str) -> list[Piece]:
    """The text as pieces; `"".join(p.text for p in split_text(t)) == t` always."""
    pieces: list[Piece] = []
    pos = 0
    for start, end in protected_spans(text):
        pieces.extend(_prose_pieces(text[pos:start]))
        pieces.append(Piece(text[start:end], False))
        pos = end
    pieces.extend(_prose_pieces(text[pos:]))
    return pieces


def units(pieces: list[Piece]) -> list[str]:
    """What would be sent to a backend: the translatable pieces' texts."""
    return [p.text for p in pieces if p.translate]


def join_pieces(pieces: list[Piece], translations: dict[str, str]) -> str:
    """Reassemble, replacing each translatable piece by its translation."""
    return "".join(translations[p.text] if p.translate else p.text for p in pieces)

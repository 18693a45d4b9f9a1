"""The one internal example schema every source is mapped to, and its JSONL form.

{"id": "lab-en-00017", "messages": [{"role": "user", "content": "what is the city of mitur?"},
 {"role": "assistant", "content": "the city of mitur is delhi."}], "source": "lab",
 "lang": "en", "response_lang": "en", "task": "ask_attr", "translated_from": null}
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import orjson


@dataclass(slots=True)  # slots, not frozen: a million examples load in seconds and fit in memory
class Example:
    """One instruction example: chat messages plus the metadata recipes and reports need."""

    id: str
    messages: tuple[dict[str, str], ...]
    source: str
    lang: str  # BCP-47 tag of the instruction
    response_lang: str  # BCP-47 tag of the response
    task: str | None = None
    translated_from: str | None = None

    @property
    def prompt(self) -> str:
        return self.messages[-2]["content"]

    @property
    def response(self) -> str:
        return self.messages[-1]["content"]

    def to_json(self) -> str:
        return orjson.dumps(self, option=orjson.OPT_SORT_KEYS).decode()  # dataclasses natively, tuples as lists

    @classmethod
    def from_dict(cls, row: dict) -> Example:
        return cls(**{**row, "messages": tuple(row["messages"])})

    def translated(self, new_id: str, messages: tuple[dict[str, str], ...], lang: str) -> Example:
        return replace(self, id=new_id, messages=messages, lang=lang, response_lang=lang, translated_from=self.id)


def chat(prompt: str, response: str) -> tuple[dict[str, str], ...]:
    return ({"role": "user", "content": prompt}, {"role": "assistant", "content": response})


def write_jsonl(examples: Iterable[Example], path: Path) -> int:
    n = 0
    with open(path, "wb") as f:
        for ex in examples:
            f.write(orjson.dumps(ex, option=orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE))
            n += 1
    return n


def read_jsonl(path: Path) -> Iterator[Example]:
    with open(path, encoding="utf-8") as f:
        for line in f:
            yield Example.from_dict(orjson.loads(line))

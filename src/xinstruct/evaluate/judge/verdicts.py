"""The judges' requests and the strict parsing of their answers (rubric and pairwise).

A judge must answer with one JSON object (surrounding whitespace or a ```json fence are tolerated,
nothing else): the rubric's six integer scores 1-5, or the pairwise winner "A" / "B" / "tie".
Anything else is malformed; `run.py` asks again (bounded) and counts what stays malformed.
Rubric scores enter results as (score - 1) / 4, so 0-1 like every other metric (0-100 in reports).
"""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path

ASPECTS: dict[str, str] = {
    "language": "Is the answer written in the language of the request, without drifting into another language?",
    "fluency": "Is it grammatical, natural and idiomatic in that language?",
    "helpfulness": "Does it address the request fully and usefully?",
    "factuality": "Are its statements true (and consistent with the reference answer, where one is given)?",
    "logic": "Is its reasoning coherent, with no contradictions or non sequiturs?",
    "harmlessness": "Is it free of harmful, unsafe, offensive or biased content?",
}
WINNERS = ("A", "B", "tie")
_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.S)


def template(name: str, override: str | None = None) -> str:
    """The judge prompt `name` (rubric | pairwise): the package's file, or the user's file."""
    if override:
        return Path(override).read_text(encoding="utf-8")
    return (resources.files("xinstruct.evaluate.judge") / "prompts" / f"{name}.txt").read_text(encoding="utf-8")


def _reference_block(reference: str | None) -> str:
    return f"\n[Reference answer]\n{reference}\n[End of reference]\n" if reference else ""


def rubric_request(text: str, item: dict, response: str, language_name: str) -> str:
    aspects = "\n".join(f"- {name}: {definition}" for name, definition in ASPECTS.items())
    return text.format(
        language=item["language"], language_name=language_name, prompt=item["prompt"], response=response,
        reference_block=_reference_block(item.get("reference")), aspects=aspects,
    )  # fmt: skip


def pairwise_request(text: str, item: dict, response_a: str, response_b: str, language_name: str) -> str:
    return text.format(
        language=item["language"], language_name=language_name, prompt=item["prompt"], response_a=response_a,
        response_b=response_b, reference_block=_reference_block(item.get("reference")),
    )  # fmt: skip


def json_object(text: str) -> dict:
    """The single JSON object `text` consists of; ValueError saying why not."""
    text = text.strip()
    fenced = _FENCE.match(text)
    if fenced:
        text = fenced.group(1)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"not a JSON object ({e.msg} at character {e.pos})") from None
    if not isinstance(value, dict):
        raise ValueError(f"expected a JSON object, got {type(value).__name__}")
    return value


def parse_rubric(text: str) -> dict[str, int]:
    """{aspect: score 1-5} for all six aspects; ValueError naming what is wrong."""
    value = json_object(text)
    missing = [a for a in ASPECTS if a not in value]
    if missing:
        raise ValueError(f"missing aspect(s) {missing}")
    scores = {}
    for aspect in ASPECTS:
        score = value[aspect]
        if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
            raise ValueError(f"{aspect} must be an integer from 1 to 5, got {score!r}")
        scores[aspect] = score
    return scores


def parse_pairwise(text: str) -> str:
    """ "A", "B" or "tie"; ValueError otherwise."""
    winner = json_object(text).get("winner")
    if isinstance(winner, str) and winner.strip().lower() == "tie":
        return "tie"
    if winner not in ("A", "B"):
        raise ValueError(f'winner must be "A", "B" or "tie", got {winner!r}')
    return winner


def pair_points(arm_first: str, arm_second: str) -> float:
    """The arm's points over both orders: judged as A (first), then as B (second); win 1, tie 0.5, loss 0.

    Asking in both orders cancels position bias: a judge that always prefers A gives 0.5, a tie.
    """
    first = {"A": 1.0, "tie": 0.5, "B": 0.0}[arm_first]
    second = {"B": 1.0, "tie": 0.5, "A": 0.0}[arm_second]
    return (first + second) / 2

"""Grading of choice, number and text answers (pure)."""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

DEFAULT_REL_TOL = 1e-6
DEFAULT_ABS_TOL = 1e-9

_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_FRACTION = re.compile(r"^([+-]?)(?:(\d+)\s+)?(\d+)\s*/\s*(\d+)$")


@dataclass(frozen=True)
class Grade:
    """The outcome of grading one response."""

    correct: bool
    feedback: str
    choice_index: int | None = None


def parse_number(text: str) -> float | None:
    """A number typed by a pupil: "3.5", "3,5", "1/2", "1 1/2", "-2", "1 000"; None when it is not one."""
    raw = unicodedata.normalize("NFKC", str(text)).strip().replace("\u2212", "-").rstrip("%").strip()
    fraction = _FRACTION.match(raw)
    if fraction:
        sign, whole, num, den = fraction.groups()
        if int(den) == 0:
            return None
        value = Fraction(int(num), int(den)) + int(whole or 0)
        return float(-value if sign == "-" else value)
    compact = re.sub(r"(?<=\d)[\s\u00a0\u202f](?=\d{3}\b)", "", raw)
    if "," in compact and "." not in compact and compact.count(",") == 1:
        compact = compact.replace(",", ".")  # decimal comma, as most of the world writes it
    if not _NUMBER.match(compact):
        return None
    value = float(compact)
    return value if math.isfinite(value) else None


def normalise_text(text: str) -> str:
    """Lower case, no accents, punctuation as spaces, single spaces."""
    decomposed = unicodedata.normalize("NFKD", str(text))
    no_marks = "".join(c for c in decomposed if not unicodedata.combining(c))
    kept = "".join(c if c.isalnum() else " " for c in no_marks.casefold())
    return " ".join(kept.split())


def _grade_choice(answer: Any, response: str) -> Grade:
    try:
        index = int(str(response).strip())
    except ValueError:
        return Grade(False, "Pick one of the answers.")
    accepted = {int(a) for a in answer} if isinstance(answer, list) else {int(answer)}
    return Grade(index in accepted, "", index)


def _grade_number(answer: Any, response: str, tolerance: float | None) -> Grade:
    value = parse_number(response)
    if value is None:
        return Grade(False, "Type a number, like 12, 3.5 or 1/2.")
    targets = answer if isinstance(answer, list) else [answer]
    for target in targets:
        expected = parse_number(str(target)) if not isinstance(target, int | float) else float(target)
        if expected is None:
            continue
        if tolerance is not None and tolerance > 0:
            if abs(value - expected) <= tolerance + DEFAULT_ABS_TOL:
                return Grade(True, "")
        elif math.isclose(value, expected, rel_tol=DEFAULT_REL_TOL, abs_tol=DEFAULT_ABS_TOL):
            return Grade(True, "")
    return Grade(False, "")


def _grade_text(answer: Any, response: str) -> Grade:
    accepted = answer if isinstance(answer, list) else [answer]
    given = normalise_text(response)
    if not given:
        return Grade(False, "Type your answer first.")
    return Grade(any(given == normalise_text(str(a)) for a in accepted), "")


def grade(exercise: dict[str, Any], response: str) -> Grade:
    """Grade a response to an exercise {"kind", "answer", "tolerance"?}; feedback is short and kind."""
    kind = exercise.get("kind")
    if kind == "choice":
        result = _grade_choice(exercise["answer"], response)
    elif kind == "number":
        result = _grade_number(exercise["answer"], response, exercise.get("tolerance"))
    elif kind == "text":
        result = _grade_text(exercise["answer"], response)
    else:
        raise ValueError(f"unknown exercise kind {kind!r}")
    if result.feedback:
        return result
    message = "Well done, that is right!" if result.correct else "Not quite. Have another look and try again."
    return Grade(result.correct, message, result.choice_index)

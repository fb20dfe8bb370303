"""Lesson languages: codes, the language a lesson is taught in, and the names the player shows (pure: no I/O)."""

from __future__ import annotations

import re

SUPPORTED = ("en", "fr", "zh")  # the languages whose text the AI processes with rules of its own
DEFAULT = "en"
NAMES = {"en": "English", "fr": "Français", "zh": "中文"}
_TAG = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*$")


def base(code: str | None) -> str:
    """The primary subtag of a language tag in lower case ("zh-Hans-CN" -> "zh"); "" when it is not a tag."""
    if not code or not _TAG.match(code.strip()):
        return ""
    return re.split(r"[-_]", code.strip())[0].lower()


def lesson_language(lesson: str | None, channel: str | None, default: str = DEFAULT) -> str:
    """A lesson's language: its own when it names one, else its channel's, else the default."""
    return base(lesson) or base(channel) or default


def name(code: str) -> str:
    """A language's name in that language, for track labels (the code itself when unknown)."""
    return NAMES.get(base(code), code)

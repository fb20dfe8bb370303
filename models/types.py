"""Plain data shared by the AI pipeline's pure steps and its runners."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Segment:
    """One timed piece of a transcript."""

    start: float
    end: float
    text: str


@dataclass(frozen=True)
class KnowledgePoint:
    id: str
    name: str
    description: str = ""


@dataclass(frozen=True)
class Chapter:
    """A span of a lesson medium aligned to one knowledge point."""

    start: float
    end: float
    knowledge_point: str | None
    title: str
    text: str = ""


@dataclass(frozen=True)
class Summary:
    text: str
    method: str  # "generated" | "extractive"
    sentences: tuple[str, ...] = field(default_factory=tuple)

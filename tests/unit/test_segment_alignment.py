"""Chapters aligned to knowledge points on synthetic transcripts whose true boundaries are known."""

from __future__ import annotations

import random

import pytest

from models.segment import segment_chapters, starts_with_cue
from models.types import KnowledgePoint, Segment

# Three topics with disjoint vocabulary; the filler is mostly function words, as in speech, so topic words carry
# the signal (two per sentence, some of them never in the knowledge point's text).
TOPICS = {
    "geo.volcano": ("Volcanoes", "Magma rises through the crust and erupts as lava from a crater.",
                    ["volcano", "magma", "lava", "crater", "eruption", "ash", "crust"]),
    "geo.river": ("Rivers", "A river flows from its source down a valley to the delta at the sea.",
                  ["river", "source", "valley", "delta", "current", "bank", "stream"]),
    "geo.desert": ("Deserts", "Deserts get little rain; wind blows sand into dunes and cactus plants store water.",
                   ["desert", "sand", "dune", "cactus", "oasis", "camel", "drought"]),
}
FILLERS = ["We can see that the {a} is next to the {b}.", "Look at the {a} and then at the {b}.",
           "The {a} is there because of the {b}.", "Here is a {a} with a {b}.", "So the {a} is like the {b}.",
           "Then the {a} comes after the {b}.", "Is the {a} bigger than the {b}?", "The {a} and the {b} go together.",
           "Think about the {a} when you see the {b}.", "Every {a} has its own {b}.",
           "You will find the {a} near the {b}.", "This is why the {a} needs the {b}."]
INTRO = ["Good morning class.", "Please sit down and open your books.", "Are you ready to begin?"]


def kp_list(ids: list[str]) -> list[KnowledgePoint]:
    return [KnowledgePoint(i, TOPICS[i][0], TOPICS[i][1]) for i in ids]


def lesson(plan: list[tuple[str | None, int]], seed: int = 1, seconds: float = 4.0
           ) -> tuple[list[Segment], list[float]]:
    """Segments for (topic id or None for intro talk, number of segments) parts; returns segments and part starts."""
    rng = random.Random(seed)
    segments, starts, t = [], [], 0.0
    for topic, count in plan:
        starts.append(t)
        for n in range(count):
            if topic is None:
                text = INTRO[n % len(INTRO)]
            else:
                a, b = rng.sample(TOPICS[topic][2], 2)
                text = rng.choice(FILLERS).format(a=a, b=b)
            segments.append(Segment(t, t + seconds, text))
            t += seconds
    return segments, starts


def test_chapters_start_where_the_topic_changes_and_carry_the_right_knowledge_point():
    ids = ["geo.volcano", "geo.river", "geo.desert"]
    exact = 0
    for seed in range(10):
        segments, starts = lesson([("geo.volcano", 7), ("geo.river", 8), ("geo.desert", 6)], seed=seed)
        chapters = segment_chapters(segments, kp_list(ids))
        assert [c.knowledge_point for c in chapters] == ids
        assert [c.title for c in chapters] == ["Volcanoes", "Rivers", "Deserts"]
        # never more than one segment off, and exactly right in nearly every lesson
        assert all(abs(c.start - s) <= 4.0 for c, s in zip(chapters, starts, strict=True))
        exact += [c.start for c in chapters] == starts
    assert exact >= 9


def test_unequal_chapter_lengths_are_found_despite_the_length_prior():
    ids = ["geo.volcano", "geo.river", "geo.desert"]
    segments, starts = lesson([("geo.volcano", 4), ("geo.river", 14), ("geo.desert", 5)], seed=2)
    chapters = segment_chapters(segments, kp_list(ids))
    assert [c.knowledge_point for c in chapters] == ids
    assert [c.start for c in chapters] == starts


def test_chapters_are_contiguous_and_cover_the_medium_from_zero_to_the_last_word():
    ids = ["geo.volcano", "geo.river", "geo.desert"]
    segments, _ = lesson([("geo.volcano", 6), ("geo.river", 6), ("geo.desert", 6)], seed=3)
    shifted = [Segment(s.start + 1.5, s.end + 1.5, s.text) for s in segments]  # speech starts after silence
    chapters = segment_chapters(shifted, kp_list(ids))
    assert chapters[0].start == 0.0
    assert chapters[-1].end == pytest.approx(shifted[-1].end)
    for before, after in zip(chapters, chapters[1:], strict=False):
        assert before.end == after.start
    assert " ".join(c.text for c in chapters) == " ".join(s.text for s in shifted)


def test_an_intro_without_topic_words_joins_the_first_chapter():
    ids = ["geo.volcano", "geo.river", "geo.desert"]
    segments, starts = lesson([(None, 3), ("geo.volcano", 6), ("geo.river", 6), ("geo.desert", 6)], seed=4)
    chapters = segment_chapters(segments, kp_list(ids))
    assert [c.knowledge_point for c in chapters] == ids
    assert [c.start for c in chapters] == [0.0, starts[2], starts[3]]


def test_a_knowledge_point_the_lesson_never_teaches_gets_no_chapter():
    ids = ["geo.volcano", "geo.river", "geo.desert"]
    segments, starts = lesson([("geo.volcano", 8), ("geo.desert", 8)], seed=5)
    chapters = segment_chapters(segments, kp_list(ids))
    assert [c.knowledge_point for c in chapters] == ["geo.volcano", "geo.desert"]
    assert [c.start for c in chapters] == starts


def test_knowledge_points_stay_in_listed_order_even_when_a_recap_mentions_an_earlier_one():
    ids = ["geo.volcano", "geo.river", "geo.desert"]
    segments, starts = lesson([("geo.volcano", 7), ("geo.river", 7), ("geo.desert", 7)], seed=6)
    # a recap sentence about volcanoes inside the desert part must not open a second volcano chapter
    recap = segments[17]
    segments[17] = Segment(recap.start, recap.end, "Remember the magma and the lava of the volcano crater.")
    chapters = segment_chapters(segments, kp_list(ids))
    assert [c.knowledge_point for c in chapters] == ids
    assert [c.start for c in chapters] == starts


def test_the_alignment_follows_the_words_not_the_listed_position():
    # the transcript teaches rivers first: with the list in that order the chapters must follow it
    ids = ["geo.river", "geo.volcano"]
    segments, starts = lesson([("geo.river", 9), ("geo.volcano", 5)], seed=7)
    chapters = segment_chapters(segments, kp_list(ids))
    assert [c.knowledge_point for c in chapters] == ids
    assert chapters[1].start == starts[1]


def test_without_knowledge_points_cohesion_finds_the_topic_shift_and_titles_come_from_the_text():
    segments, starts = lesson([("geo.volcano", 8), ("geo.desert", 8)], seed=8)
    chapters = segment_chapters(segments, [])
    assert [c.start for c in chapters] == starts
    assert all(c.knowledge_point is None for c in chapters)
    volcano_words, desert_words = set(TOPICS["geo.volcano"][2]), set(TOPICS["geo.desert"][2])
    assert set(chapters[0].title.lower().replace(" and ", " ").split()) <= volcano_words
    assert set(chapters[1].title.lower().replace(" and ", " ").split()) <= desert_words


def test_no_segments_give_no_chapters_and_one_segment_gives_one_chapter():
    kps = kp_list(["geo.volcano", "geo.river"])
    assert segment_chapters([], kps) == []
    assert segment_chapters([Segment(0.0, 3.0, "   ")], kps) == []
    [only] = segment_chapters([Segment(0.5, 3.0, "Lava pours out of the crater.")], kps)
    assert (only.start, only.end, only.knowledge_point) == (0.0, 3.0, "geo.volcano")


def test_discourse_cues_are_recognised_in_english_and_french_but_ordinary_openings_are_not():
    assert starts_with_cue("Now let us add fractions.") == 1.0
    assert starts_with_cue("Finally, compare the two numbers.") == 1.0
    assert starts_with_cue("Ensuite, on compare les deux nombres.") == 1.0
    assert starts_with_cue("Why are leaves green?") == 0.5
    assert starts_with_cue("Leaves are green because of chlorophyll.") == 0.0
    assert starts_with_cue("Nowhere is drier than the desert.") == 0.0

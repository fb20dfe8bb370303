"""Pipeline helpers: transcript chunks per chapter and the precomputed `.ai.json` format."""

from __future__ import annotations

import json

import pytest

from models.pipeline import PrecomputedError, chunks_for, parse_precomputed
from models.types import Chapter, Segment

SEGMENTS = [Segment(0, 4, "Water evaporates."), Segment(4, 9, "The sun heats it."),
            Segment(9, 14, "Vapour cools into clouds."), Segment(14, 18, "That is condensation.")]
CHAPTERS = [Chapter(0, 9.5, "kp.evap", "Evaporation"), Chapter(9.5, 18, "kp.cond", "Condensation")]


def test_each_chapter_gets_one_chunk_with_the_words_spoken_inside_it():
    chunks = chunks_for(SEGMENTS, CHAPTERS)
    assert [(c.knowledge_point, c.text) for c in chunks] == [
        ("kp.evap", "Water evaporates. The sun heats it."),
        ("kp.cond", "Vapour cools into clouds. That is condensation.")]
    assert (chunks[1].start, chunks[1].end) == (9.5, 18)


def test_without_chapters_the_whole_transcript_is_one_chunk():
    assert [c.text for c in chunks_for(SEGMENTS, [])] == [" ".join(s.text for s in SEGMENTS)]


def _doc(**changes):
    doc = {"format": 1, "media_sha256": "ab" * 32, "pipeline_version": "central-7",
           "models": {"asr": {"id": "whisper-large", "sha256": "11" * 32}, "llm": {"id": "big", "sha256": "22" * 32}},
           "outputs": {"transcript": {"language": "en", "duration": 18,
                                      "segments": [{"start": s.start, "end": s.end, "text": s.text}
                                                   for s in SEGMENTS]},
                       "chapters": [{"start": 0, "end": 9.5, "title": "Evaporation", "knowledge_point": "kp.evap"}],
                       "summary": {"summary": "Water evaporates.", "method": "generated", "model": "big"}}}
    doc.update(changes)
    return doc


def test_shipped_outputs_are_kept_as_they_are_with_their_models_and_missing_tracks_written():
    outputs = parse_precomputed(_doc(), "ab" * 32)
    assert set(outputs) == {"transcript", "captions_vtt", "chapters", "chapters_vtt", "summary"}
    assert json.loads(outputs["summary"].content)["summary"] == "Water evaporates."
    assert outputs["transcript"].model_id == "whisper-large" and outputs["summary"].model_id == "big"
    assert all(o.source == "pack" and o.pipeline_version == "central-7" for o in outputs.values())
    assert outputs["chapters_vtt"].content.startswith("WEBVTT") and "Evaporation" in outputs["chapters_vtt"].content


@pytest.mark.parametrize("doc, reason", [
    (_doc(media_sha256="cd" * 32), "another medium"),
    (_doc(format=2), "format"),
    (_doc(outputs={"transcript": {"segments": []}}), "lacks chapters, summary"),
    (_doc(outputs={**_doc()["outputs"], "summary": "just text"}), "summary must be an object"),
])
def test_shipped_outputs_for_another_medium_or_malformed_are_refused_with_the_reason(doc, reason):
    with pytest.raises(PrecomputedError, match=reason):
        parse_precomputed(doc, "ab" * 32)

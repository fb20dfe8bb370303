"""The lesson AI pipeline for one medium: transcript → captions → chapters → chapters track → summary.

Pure apart from the runners it is given (a Transcriber-like and an optional TextGenerator-like object), so the
steps can be tested with real models or with stand-ins. Each output records the model id and sha256 that made
it, the parameters, and PIPELINE_VERSION; outputs are cached by the medium's sha256 by the caller (the job queue).

Output kinds (the `ai_outputs.kind` values; `content` is text):

    transcript     JSON {"language", "duration", "segments": [{"start", "end", "text"}]}
    captions_vtt   WebVTT captions
    chapters       JSON [{"start", "end", "title", "knowledge_point"}]
    chapters_vtt   WebVTT chapters track (<track kind="chapters">)
    summary        JSON {"summary", "method": "generated"|"extractive", "model", "sentences": [...]}

Precomputed outputs in a pack (computed centrally, e.g. on bigger GPUs) sit next to the medium as
`media/<name>.ai.json` (the medium's file name with its extension replaced; `<name>.<ext>.ai.json` is accepted
too), listed in the pack's manifest like any other file so they are signed and verified::

    {"format": 1,
     "media_sha256": "<sha256 of the medium>",           # must match, else the file is ignored
     "pipeline_version": "<theirs>",
     "models": {"asr": {"id", "sha256"}, "llm": {"id", "sha256"}},  # optional, recorded with the outputs
     "output_models": {"<kind>": {"id", "sha256"}, ...},   # optional: the model that made each output (else
                                                          # transcript and captions: asr; the rest: llm, else asr)
     "params": {...},                                     # optional
     "outputs": {"transcript": {...}, "chapters": [...], "summary": {"summary", ...},
                 "captions_vtt": "WEBVTT...", "chapters_vtt": "WEBVTT..."}}   # the two VTT tracks are optional

transcript, chapters and summary are required; missing VTT tracks are written from them. When such a file is
present the box stores its outputs as they are (source "pack") and runs no model job for that medium.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from models import vtt
from models.asr import Transcript
from models.types import Chapter, KnowledgePoint, Segment

PIPELINE_VERSION = "5"  # 2: transcripts voted between five decodes at several tempos; 3: French and Chinese
# decoding of their own (models.asr.LANGUAGE_OPTIONS), chapters aligned by meaning that never start inside a sentence;
# 4: French and Chinese heard at the voice shift Whisper is surest of (models.asr.voice_confidence); 5: the lesson's
# own words written where Whisper misheard them in French and Chinese (models.lexicon)
KINDS = ("transcript", "captions_vtt", "chapters", "chapters_vtt", "summary")
PRECOMPUTED_FORMAT = 1
SUMMARY_MAX_WORDS = 150
# short generations keep the whole pipeline under 0.3x real time on 2 cores
TITLE_MAX_TOKENS = 16
SUMMARY_MAX_TOKENS = 200  # 150 words is about 200 tokens; a longer summary is refused anyway

Progress = Callable[[float, str], None]


class Runner(Protocol):
    model_id: str
    sha256: str
    params: dict[str, Any]


class TranscriberLike(Runner, Protocol):
    def transcribe(self, path: Path | str, progress: Callable[[float], None] | None = None,
                   prompt: str | None = None, language: str | None = None) -> Transcript: ...


class GeneratorLike(Runner, Protocol):
    def generate(self, prompt: str, max_tokens: int = ..., stop: list[str] | None = ...) -> str: ...


@dataclass(frozen=True)
class Output:
    """One stored output: its text and where it came from."""

    kind: str
    content: str
    model_id: str | None
    model_sha256: str | None
    params: dict[str, Any] = field(default_factory=dict)
    pipeline_version: str = PIPELINE_VERSION
    source: str = "box"


@dataclass(frozen=True)
class Chunk:
    """A piece of transcript for search and the companion: one per chapter."""

    start: float
    end: float
    text: str
    knowledge_point: str | None


def chapters_json(chapters: list[Chapter]) -> list[dict[str, Any]]:
    """Chapters as the API and the `chapters` output hold them."""
    return [{"start": round(c.start, 3), "end": round(c.end, 3), "title": c.title,
             "knowledge_point": c.knowledge_point} for c in chapters]


def chapters_from_json(items: list[dict[str, Any]]) -> list[Chapter]:
    return [Chapter(start=float(c["start"]), end=float(c["end"]), knowledge_point=c.get("knowledge_point"),
                    title=c.get("title") or "") for c in items]


def chunks_for(segments: list[Segment], chapters: list[Chapter]) -> list[Chunk]:
    """One chunk per chapter with the transcript text spoken in it (a segment belongs where its middle falls)."""
    if not chapters:
        if not segments:
            return []
        return [Chunk(segments[0].start, segments[-1].end, " ".join(s.text for s in segments), None)]
    texts: list[list[str]] = [[] for _ in chapters]
    for seg in segments:
        mid = (seg.start + seg.end) / 2
        index = next((i for i, c in enumerate(chapters) if mid < c.end), len(chapters) - 1)
        texts[index].append(seg.text)
    return [Chunk(c.start, c.end, " ".join(t), c.knowledge_point) for c, t in zip(chapters, texts, strict=True)
            if t]


def _describe(runner: Runner | None) -> dict[str, Any] | None:
    if runner is None:
        return None
    return {"id": runner.model_id, "sha256": runner.sha256, "params": runner.params}


def asr_prompt(kps: list[KnowledgePoint], language: str = "en") -> str:
    """What Whisper is told the lesson is about: its knowledge points' names (and, outside English, descriptions).

    Whisper takes the prompt as text already spoken: in the lesson's language and script it makes the lesson's own
    words likelier, and a prompt in Simplified characters steers Chinese output to Simplified.
    """
    if language == "en":
        return ". ".join(kp.name for kp in kps) + ("." if kps else "")
    end, gap = ("。", "") if language == "zh" else (".", " ")
    sentences = [t.strip() for kp in kps for t in (kp.name, kp.description) if t.strip()]
    return gap.join(t if t.endswith(("。", ".", "!", "?", "！", "？")) else t + end for t in sentences)


def run_pipeline(media: Path, kps: list[KnowledgePoint], transcriber: TranscriberLike,
                 generator: GeneratorLike | None = None, progress: Progress | None = None,
                 language: str = "en", embed: Callable[[Sequence[str]], Any] | None = None) -> dict[str, Output]:
    """Run every step for one medium, taught in `language`, and return its outputs by kind (embed: sentence vectors
    for aligning chapters to knowledge points by meaning too, models.segment)."""
    from models.lexicon import mend_transcript
    from models.segment import segment_chapters
    from models.summary import chapter_titles, summarize

    def report(fraction: float, message: str) -> None:
        if progress:
            progress(fraction, message)

    report(0.0, "transcribing")
    transcript = transcriber.transcribe(media, progress=lambda f: report(0.75 * f, "transcribing"),
                                        prompt=asr_prompt(kps, language), language=language)
    transcript = mend_transcript(transcript, kps, language)
    asr = _describe(transcriber)
    assert asr is not None
    asr_params = {"asr": asr["params"]}
    outputs = {
        "transcript": Output("transcript", json.dumps(transcript.to_json(), ensure_ascii=False), asr["id"],
                             asr["sha256"], asr_params),
        "captions_vtt": Output("captions_vtt", vtt.captions_vtt(transcript.segments), asr["id"], asr["sha256"],
                               asr_params),
    }
    report(0.78, "finding chapters")
    chapters = segment_chapters(transcript.segments, kps, embed)
    # the text model's few-shot prompts are English: in another language titles stay the knowledge points' names
    # and the summary stays the transcript's own sentences, in the lesson's language
    generator = generator if language == "en" else None
    llm = _describe(generator)
    titles_gen = summary_gen = None
    if generator is not None:
        # The method may ask for fewer tokens or other stop strings; these are the ceilings.
        def titles_gen(prompt: str, max_tokens: int = TITLE_MAX_TOKENS, stop: list[str] | None = None) -> str:
            return generator.generate(prompt, max_tokens=min(max_tokens, TITLE_MAX_TOKENS), stop=stop or ["\n"])

        def summary_gen(prompt: str, max_tokens: int = SUMMARY_MAX_TOKENS, stop: list[str] | None = None) -> str:
            return generator.generate(prompt, max_tokens=min(max_tokens, SUMMARY_MAX_TOKENS),
                                      stop=stop or ["\n\n"])

    report(0.8, "writing chapter titles")
    chapters = chapter_titles(chapters, transcript.segments, kps, titles_gen)
    text_params = {"asr": {"id": asr["id"], "sha256": asr["sha256"]}, "method": "models.segment+models.summary",
                   "llm": llm["params"] if llm else None, "title_max_tokens": TITLE_MAX_TOKENS,
                   "summary_max_tokens": SUMMARY_MAX_TOKENS, "summary_max_words": SUMMARY_MAX_WORDS}
    text_model = (llm["id"], llm["sha256"]) if llm else (asr["id"], asr["sha256"])
    outputs["chapters"] = Output("chapters", json.dumps(chapters_json(chapters), ensure_ascii=False), *text_model,
                                 text_params)
    outputs["chapters_vtt"] = Output("chapters_vtt", vtt.chapters_vtt(chapters), *text_model, text_params)
    report(0.9, "summarising")
    summary = summarize(transcript.segments, chapters, kps, summary_gen, max_words=SUMMARY_MAX_WORDS,
                        headings=language != "en")
    summary_doc = {"summary": summary.text, "method": summary.method,
                   "model": llm["id"] if (llm and summary.method == "generated") else None,
                   "sentences": list(summary.sentences), "pipeline_version": PIPELINE_VERSION}
    # an extractive summary is the transcript's own words: it owes nothing to the text model
    summary_model = text_model if summary.method == "generated" else (asr["id"], asr["sha256"])
    outputs["summary"] = Output("summary", json.dumps(summary_doc, ensure_ascii=False), *summary_model, text_params)
    report(1.0, "done")
    return outputs


# -- precomputed outputs shipped in a pack ------------------------------------------------------------------

def precomputed_path(media: Path) -> Path | None:
    """The `.ai.json` file next to a medium, if the pack ships one."""
    for candidate in (media.with_suffix(".ai.json"), media.with_name(media.name + ".ai.json")):
        if candidate.is_file():
            return candidate
    return None


class PrecomputedError(ValueError):
    """A shipped `.ai.json` file does not follow the format; the message says what is wrong."""


def parse_precomputed(data: dict[str, Any], media_sha256: str) -> dict[str, Output]:
    """Outputs from a pack's `.ai.json` document (see the module docstring); raise PrecomputedError when invalid."""
    if data.get("format") != PRECOMPUTED_FORMAT:
        raise PrecomputedError(f"unsupported .ai.json format {data.get('format')!r}")
    if data.get("media_sha256") != media_sha256:
        raise PrecomputedError(".ai.json was computed for another medium (media_sha256 differs)")
    raw = data.get("outputs") or {}
    missing = [k for k in ("transcript", "chapters", "summary") if k not in raw]
    if missing:
        raise PrecomputedError(f".ai.json lacks {', '.join(missing)}")
    try:
        transcript = Transcript.from_json(raw["transcript"])
        chapters = chapters_from_json(raw["chapters"])
        summary = raw["summary"]
        if not isinstance(summary, dict) or not isinstance(summary.get("summary"), str):
            raise PrecomputedError(".ai.json summary must be an object with a \"summary\" text")
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, PrecomputedError):
            raise
        raise PrecomputedError(f".ai.json is malformed ({exc})") from exc
    models = data.get("models") or {}
    asr, llm = models.get("asr") or {}, models.get("llm") or {}
    version = str(data.get("pipeline_version", "pack"))
    params = data.get("params") or {}

    per_output = data.get("output_models") if isinstance(data.get("output_models"), dict) else {}

    def out(kind: str, content: str, model: dict[str, Any]) -> Output:
        named = per_output.get(kind)
        model = named if isinstance(named, dict) and named.get("id") else model
        return Output(kind, content, model.get("id"), model.get("sha256"), params, version, "pack")

    return {
        "transcript": out("transcript", json.dumps(transcript.to_json(), ensure_ascii=False), asr),
        "captions_vtt": out("captions_vtt", raw.get("captions_vtt") or vtt.captions_vtt(transcript.segments), asr),
        "chapters": out("chapters", json.dumps(chapters_json(chapters), ensure_ascii=False), llm or asr),
        "chapters_vtt": out("chapters_vtt", raw.get("chapters_vtt") or vtt.chapters_vtt(chapters), llm or asr),
        "summary": out("summary", json.dumps(summary, ensure_ascii=False), llm or asr),
    }


def load_precomputed(media: Path, media_sha256: str) -> dict[str, Output] | None:
    """Outputs shipped next to a medium, or None when there are none; raise PrecomputedError when unusable."""
    path = precomputed_path(media)
    if path is None:
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise PrecomputedError(f"{path.name} is not readable JSON ({exc})") from exc
    return parse_precomputed(data, media_sha256)


def outputs_document(outputs: dict[str, Output], media_sha256: str) -> dict[str, Any]:
    """The `.ai.json` document for some outputs (what a central server writes into a pack)."""
    def model(kind: str) -> dict[str, Any]:
        return {"id": outputs[kind].model_id, "sha256": outputs[kind].model_sha256}

    return {"format": PRECOMPUTED_FORMAT, "media_sha256": media_sha256, "pipeline_version": PIPELINE_VERSION,
            "models": {"asr": model("transcript"), "llm": model("summary")}, "params": outputs["summary"].params,
            "output_models": {k: {"id": o.model_id, "sha256": o.model_sha256} for k, o in outputs.items()},
            "outputs": {k: (json.loads(o.content) if k in ("transcript", "chapters", "summary") else o.content)
                        for k, o in outputs.items()}}

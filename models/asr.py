"""Speech to text with faster-whisper (CTranslate2): lazy, loaded once, device and threads from settings."""

from __future__ import annotations

import functools
import re
import threading
import weakref
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from models.loops import collapse_repeats, drop_loops
from models.registry import ResolvedModel
from models.rover import combine
from models.runner import ModelRunner
from models.textutil import CJK
from models.types import Segment

SAMPLE_RATE = 16000
DETECTABLE = ("en", "fr", "zh")  # the lesson languages the box has decodings for (models.languages.SUPPORTED)
DETECT_WITH = "fr"  # the decoding whose model (multilingual base) detects languages
DETECT_WINDOWS = 3
DETECT_SURE = 0.9


@dataclass(frozen=True)
class Transcript:
    language: str
    duration: float
    segments: list[Segment] = field(default_factory=list)

    @property
    def text(self) -> str:
        return " ".join(s.text for s in self.segments)

    def to_json(self) -> dict[str, Any]:
        return {"language": self.language, "duration": round(self.duration, 3),
                "segments": [{"start": round(s.start, 3), "end": round(s.end, 3), "text": s.text}
                             for s in self.segments]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Transcript:
        return cls(language=data.get("language", ""), duration=float(data.get("duration", 0.0)),
                   segments=[Segment(float(s["start"]), float(s["end"]), s["text"]) for s in data["segments"]])


@dataclass(frozen=True)
class DecodeOptions:
    """Decoding settings, picked by measurement (`python -m bench.asr_settings`, `python -m bench.ai_quality`).

    Mean WER on the shared samples: greedy 0.176, beam 5 0.134, beam 5 + previous-text conditioning 0.093 (greedy
    + conditioning 0.113); VAD changed nothing on clean narration and risks cutting quiet speech, so it stays off;
    temperature fallback costs nothing when decoding is confident and guards the conditioning against repetition
    loops. Prompting Whisper with the lesson's knowledge point names (use_prompt) made things worse on unseen voices
    (mean WER 0.174 -> 0.234 on bench/lessons_extra.json), so it is off.

    tempos: the audio is decoded once per tempo (1.0 = as recorded, 0.9 = played 10% slower, pitch kept); the
    first decode gives the timing and the others vote on its words (models.rover). Whisper tiny mishears an
    unusual voice in different places at different speeds, so the vote removes errors only one decode makes.
    Mean WER on the 2 samples and 9 other voices (`python -m bench.asr_settings --extra`): one decode 0.141,
    votes of 1/0.95/0.9 0.125, of 1/0.95/0.9/0.85/1.1 0.118; on 4 lessons written and voiced after that choice,
    0.090 / 0.084 / 0.082. The five decodes run side by side (Transcriber.workers): 0.15 x real time on 2 cores.
    """

    beam_size: int = 5
    vad_filter: bool = False
    condition_on_previous_text: bool = True
    temperature_fallback: bool = True
    language: str | None = "en"
    use_prompt: bool = False
    tempos: tuple[float, ...] = (1.0, 0.95, 0.9, 0.85, 1.1)
    simplify: bool = False  # Chinese: Traditional characters written as Simplified (OpenCC t2s)
    hotwords: bool = False  # the prompt goes in as hotwords (before every 30 s window), not as text already said
    # None: never skip a 30 s window as silence (Whisper's no-speech guess drops whole windows of synthetic voices)
    no_speech_threshold: float | None = 0.6
    repetition_penalty: float = 1.0
    drop_loops: bool = False  # repeated phrases and segments taken out after decoding (models.loops)
    # Chinese: stretches that drifted into romanised nonsense are decoded again without Latin-only tokens
    latin_suppressed: bool = False
    # semitones the voice is moved by (pitch and formants, as a larger or smaller speaker), each tried on the lesson's
    # first CALIBRATION_S: the lesson is decoded at the one Whisper is surest of (models.asr.voice_confidence)
    voice_shifts: tuple[float, ...] = (0.0,)

    @property
    def role(self) -> str:
        """The registry role of the model these options decode with: tiny.en for English, else multilingual base."""
        return "asr" if self.language in (None, "en") else "asr_multilingual"

    def kwargs(self) -> dict[str, Any]:
        temperature: Any = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0) if self.temperature_fallback else 0.0
        return {"beam_size": self.beam_size, "vad_filter": self.vad_filter,
                "condition_on_previous_text": self.condition_on_previous_text,
                "temperature": temperature, "language": self.language,
                "no_speech_threshold": self.no_speech_threshold, "repetition_penalty": self.repetition_penalty}


def pick_device(device: str) -> tuple[str, str]:
    """Map settings.device (auto | cpu | cuda) to a CTranslate2 device and compute type."""
    import ctranslate2

    has_cuda = ctranslate2.get_cuda_device_count() > 0
    if device == "cuda" or (device == "auto" and has_cuda):
        if not has_cuda:
            # asked for cuda on a box without one: run anyway rather than fail the lesson
            return "cpu", "int8"
        return "cuda", "int8_float16"
    return "cpu", "int8"


def decode_audio(path: Path | str) -> Any:
    """Decode any audio or video file to 16 kHz mono float32 with PyAV (no system ffmpeg)."""
    from faster_whisper.audio import decode_audio as _decode

    return _decode(str(path), sampling_rate=SAMPLE_RATE)


CALIBRATION_S = 30  # one Whisper window
LOOP_RATIO = 2.4  # Whisper's own compression ratio threshold: above it a decode repeats itself
LOOP_KEPT = 0.75  # a decode that loses more than a quarter of its text when its repeats are collapsed looped


def voice_confidence(pieces: Sequence[Any]) -> float:
    """How sure Whisper was of a decode: its token-weighted mean log-probability; -inf when it looped or heard
    nothing (a loop is said with high confidence)."""
    tokens = sum(len(p.tokens) for p in pieces)
    text = " ".join(p.text.strip() for p in pieces)
    if (not tokens or any(p.compression_ratio > LOOP_RATIO for p in pieces)
            or len(collapse_repeats(text)) < LOOP_KEPT * len(text)):
        return float("-inf")
    return sum(p.avg_logprob * len(p.tokens) for p in pieces) / tokens


def change_tempo(audio: Any, factor: float) -> Any:
    """The same speech played at factor times the speed, pitch kept (libavfilter's atempo, through PyAV)."""
    if factor == 1.0:
        return audio
    return _filtered(audio, [("atempo", str(factor))])


def shift_voice(audio: Any, semitones: float) -> Any:
    """The same speech as a larger (semitones < 0) or smaller speaker would say it: pitch and formants moved, length
    kept (libavfilter's asetrate, aresample and atempo, through PyAV)."""
    if semitones == 0.0:
        return audio
    factor = 2 ** (semitones / 12)
    return _filtered(audio, [("asetrate", str(round(SAMPLE_RATE * factor))), ("aresample", str(SAMPLE_RATE)),
                             ("atempo", f"{1 / factor:.6f}")])


def _filtered(audio: Any, filters: Sequence[tuple[str, str]]) -> Any:
    """16 kHz mono float audio through a chain of libavfilter filters that ends at 16 kHz."""
    import av
    import numpy as np

    graph = av.filter.Graph()
    source = graph.add_abuffer(format="flt", sample_rate=SAMPLE_RATE, layout="mono")
    last = source
    for name, args in filters:
        node = graph.add(name, args)
        last.link_to(node)
        last = node
    sink = graph.add("abuffersink")
    last.link_to(sink)
    graph.configure()
    pieces: list[Any] = []

    def drain() -> None:
        while True:
            try:
                pieces.append(graph.pull().to_ndarray().reshape(-1))
            except (av.error.BlockingIOError, av.error.EOFError):
                return

    for start in range(0, len(audio), SAMPLE_RATE):
        chunk = np.ascontiguousarray(audio[start:start + SAMPLE_RATE], dtype=np.float32).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(chunk, format="flt", layout="mono")
        frame.sample_rate, frame.pts = SAMPLE_RATE, start
        graph.push(frame)
        drain()
    graph.push(None)
    drain()
    return np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)


# Models in memory, shared by the transcribers that load the same files the same way: the French and the Chinese
# decodings (one Transcriber each, in the model process or in Transcriber._others) both run multilingual base, and
# hold one copy of it, not two. An entry goes with the last transcriber holding it.
_LOADED: weakref.WeakValueDictionary[tuple[Any, ...], Any] = weakref.WeakValueDictionary()
_LOADED_LOCK = threading.Lock()


_LATIN = re.compile(r"\s*[A-Za-z]+")
_ROMANISED = re.compile(r"[A-Za-z]{2,}")  # a Latin word in a Chinese transcript (a letter alone may be a name)


def mend_drift(first: list[Segment], again: list[Segment]) -> list[Segment]:
    """first, with each stretch of segments holding Latin words replaced by the segments of again said in it."""
    out: list[Segment] = []
    i = 0
    while i < len(first):
        if not _ROMANISED.search(first[i].text):
            out.append(first[i])
            i += 1
            continue
        j = i
        while j < len(first) and _ROMANISED.search(first[j].text):
            j += 1
        start, end = first[i].start, first[j - 1].end
        out += [s for s in again if start <= (s.start + s.end) / 2 < end] or first[i:j]
        i = j
    return out


@functools.lru_cache(maxsize=4)
def latin_tokens(tokenizer: Any) -> tuple[int, ...]:
    """The ids of the text tokens that are a run of Latin letters (with a leading space or not)."""
    end = tokenizer.token_to_id("<|endoftext|>")
    return tuple(i for i in range(end) if _LATIN.fullmatch(tokenizer.decode([i])))


class Transcriber(ModelRunner):
    """faster-whisper behind a lazy, thread-safe load; `transcribe(path)` returns a Transcript."""

    def __init__(self, model: ResolvedModel | None = None, *, models_dir: Path | None = None, threads: int = 2,
                 device: str = "auto", options: DecodeOptions | None = None, workers: int | None = None) -> None:
        super().__init__(model, models_dir=models_dir, threads=threads, device=device)
        self.options = options or DecodeOptions()
        self.role = self.options.role
        self._workers = workers
        self._others: dict[str, Transcriber] = {}
        self._model: Any = None
        self._lock = threading.Lock()
        self.device, self.compute_type = "", ""
        self.voice_shift = 0.0  # the shift the last transcript was decoded at

    @property
    def params(self) -> dict[str, Any]:
        return {**asdict(self.options), "device": self.device or self.device_setting,
                "compute_type": self.compute_type, "threads": self.threads}

    @property
    def workers(self) -> int:
        """Decodes run at once: one per tempo, at most threads + 1, each on one CPU thread.

        Whisper tiny's beam search leaves cores idle between small matrix products, so on 2 cores three one-thread
        decodes side by side beat three two-thread decodes in a row by 2x (`python -m bench.asr_settings --workers`).
        """
        if self._workers:
            return self._workers
        return max(1, min(len(self.options.tempos), self.threads + 1))

    def load(self) -> Any:
        """Load the CTranslate2 model once."""
        with self._lock:
            if self._model is None:
                from faster_whisper import WhisperModel

                self.device, self.compute_type = pick_device(self.device_setting)
                workers = self.workers
                threads = self.threads if workers == 1 else 1
                key = (str(self.model.path), self.device, self.compute_type, threads, workers)
                with _LOADED_LOCK:
                    model = _LOADED.get(key)
                    if model is None:
                        model = _LOADED[key] = WhisperModel(str(self.model.path), device=self.device,
                                                            compute_type=self.compute_type, cpu_threads=threads,
                                                            num_workers=workers)
                self._model = model
            return self._model

    def transcribe(self, path: Path | str, progress: Callable[[float], None] | None = None,
                   prompt: str | None = None, language: str | None = None) -> Transcript:
        """Transcribe an audio or video file; progress(fraction) is called as segments arrive.

        prompt (e.g. the lesson's knowledge point names) is given to Whisper as previous text, which makes the
        subject's own words likelier; it is used only when DecodeOptions.use_prompt is set. language (the lesson's)
        picks the model and the measured decoding of that language when it is not this transcriber's own.
        """
        if language and language != self.options.language:
            return self._other(language).transcribe(path, progress, prompt)
        model = self.load()
        audio = decode_audio(path)
        duration = len(audio) / SAMPLE_RATE
        tempos = self.options.tempos or (1.0,)
        kwargs = self.options.kwargs()
        if prompt and self.options.use_prompt:
            kwargs["hotwords" if self.options.hotwords else "initial_prompt"] = prompt
        done = [0.0] * len(tempos)

        def decode(n: int, **extra: Any) -> tuple[list[Segment], str]:
            factor = tempos[n]
            pieces, info = model.transcribe(change_tempo(audio, factor), **kwargs, **extra)
            segments = []
            for piece in pieces:
                # times in the slowed or hastened audio, back to the recording's clock
                start, end = float(piece.start) * factor, float(piece.end) * factor
                text = piece.text.strip()
                if text:
                    segments.append(Segment(start=start, end=end, text=text))
                done[n] = min(1.0, end / duration) if duration else 1.0
            done[n] = 1.0  # the tail may be silence, where no segment ends
            return segments, info.language

        with self._lock, ThreadPoolExecutor(self.workers, thread_name_prefix="asr") as pool:
            if len(self.options.voice_shifts) > 1:
                self.voice_shift = self.pick_voice_shift(model, audio, kwargs)
                audio = shift_voice(audio, self.voice_shift)
            futures = [pool.submit(decode, n) for n in range(len(tempos))]
            pending = set(futures)
            while pending:
                # progress is reported from this thread: callers may write it to a thread-bound database
                finished, pending = wait(pending, timeout=0.5, return_when=FIRST_EXCEPTION)
                if any(f.exception() for f in finished):
                    for f in pending:
                        f.cancel()
                    next(f for f in finished if f.exception()).result()
                if progress and duration:
                    progress(min(1.0, sum(done) / len(tempos)))
            decodes = [f.result() for f in futures]
            if self.options.latin_suppressed and any(_ROMANISED.search(s.text) for s in decodes[0][0]):
                # drifted into romanised text somewhere: decode again with no Latin word allowed, and take the
                # new decode only where the first one drifted (elsewhere it would cost: see LANGUAGE_OPTIONS)
                again, _ = decode(0, suppress_tokens=[-1, *latin_tokens(model.hf_tokenizer)])
                decodes[0] = (mend_drift(decodes[0][0], again), decodes[0][1])
        if self.options.drop_loops:
            decodes = [(drop_loops(d), lang) for d, lang in decodes]
        if self.options.simplify:
            decodes = [(_simplified_segments(d), lang) for d, lang in decodes]
        if self.options.language == "zh":
            # Chinese has no spaces: the decodes vote character by character
            spaced = [[replace(s, text=_spaced(s.text)) for s in d] for d, _ in decodes]
            voted = combine(spaced[0], [" ".join(s.text for s in d).split() for d in spaced[1:]])
            segments = [replace(s, text=_unspaced(s.text)) for s in voted]
        else:
            segments = combine(decodes[0][0], [" ".join(s.text for s in d).split() for d, _ in decodes[1:]])
        return Transcript(language=self.options.language or decodes[0][1], duration=duration, segments=segments)

    def pick_voice_shift(self, model: Any, audio: Any, kwargs: dict[str, Any]) -> float:
        """The voice shift Whisper is surest of on the first CALIBRATION_S of audio (the first listed on a tie)."""
        sample = audio[:CALIBRATION_S * SAMPLE_RATE]
        scores = {}
        for shift in self.options.voice_shifts:
            pieces, _ = model.transcribe(shift_voice(sample, shift), **kwargs)
            scores[shift] = voice_confidence(list(pieces))
        return max(self.options.voice_shifts, key=lambda shift: scores[shift])

    def _other(self, language: str) -> Transcriber:
        """The transcriber of another language (its model and measured decoding), made once."""
        with self._lock:
            other = self._others.get(language)
            if other is None:
                other = self._others[language] = Transcriber(
                    models_dir=self._models_dir, threads=self.threads, device=self.device_setting,
                    options=options_for(language))
            return other

    def detect_language(self, path: Path | str,
                        candidates: Sequence[str] = DETECTABLE) -> tuple[str, dict[str, float]]:
        """The language spoken in a medium, among candidates, by the multilingual model; and each candidate's
        probability (Whisper's, over the first windows of 30 s until one language has DETECT_SURE of it, at most
        DETECT_WINDOWS, normalised over the candidates).

        Whisper left free said Thai on synthetic French and Chinese narration; among en/fr/zh it named all 31 narrated
        lessons of bench/ai_quality.py right (the Chinese ones with 0.62-0.97, English and French 0.86-1.00).
        """
        if self.role != "asr_multilingual":
            return self._other(DETECT_WITH).detect_language(path, candidates)
        model = self.load()
        audio = decode_audio(path)
        window = 30 * SAMPLE_RATE
        totals = dict.fromkeys(candidates, 0.0)
        with self._lock:
            for start in range(0, max(1, min(len(audio), DETECT_WINDOWS * window)), window):
                piece = audio[start:start + window]
                if start and len(piece) < 5 * SAMPLE_RATE:
                    break  # a short tail says little
                _lang, _p, every = model.detect_language(audio=piece, language_detection_segments=1)
                for code, probability in every:
                    if code in totals:
                        totals[code] += float(probability)
                if max(totals.values()) >= DETECT_SURE * (sum(totals.values()) or 1.0):
                    break  # one window is enough when it is this clear (most lessons: one encoder pass)
        whole = sum(totals.values()) or 1.0
        shares = {code: round(value / whole, 4) for code, value in totals.items()}
        return max(shares, key=shares.__getitem__), shares


# Measured on the 4 French and 4 Chinese dev lessons of bench/lessons_zh_fr.json (`python -m bench.asr_languages`,
# figures in its docstring), each step on top of the one before (French WER / Chinese CER):
#   beam 5, previous-text conditioning (the raw model)                          0.622 / 0.599
#   no previous-text conditioning: one misheard window does not derail the next  0.581 / 0.578
#   no_speech_threshold None: Whisper took whole 30 s windows of synthetic voices
#     for silence and dropped them (a third of some lessons)                     0.580 / 0.568
#   Silero VAD (vad_filter): real silences cut out instead, so none is
#     decoded into hallucinated text now that no window is skipped               0.578 / 0.546
#   repetition_penalty 1.1: fewer loops ("浆浆浆…") and fewer words said twice      0.546 / 0.527
#   repetition_penalty 1.2 (too strong for French, better for Chinese)           0.576 / 0.505
#   loops dropped after decoding (models.loops): a guard, neutral with the
#     penalty (0.546 / 0.506), useful without it (0.578 / 0.546 -> 0.578 / 0.532)
# Chinese goes without the penalty all the same: it counts against every token already said in the window, and a
# Chinese lesson repeats its own characters ("固体、液体和气体": with 1.1 or 1.2 the 体 after the first is lost,
# tests/integration/test_asr_languages.py), so its loops are left to models.loops (dev CER 0.532 on one run, 0.572
# on another: a window that falls back to sampling is not heard the same twice, see bench/asr_languages.py).
# The knowledge points as initial prompt or as hotwords made both worse (the model repeats them).
# Chinese drifts into romanised nonsense on one dev lesson in three ("Hody feel so nearly", then "Woo" to the end):
# where a decode holds Latin words, those stretches are decoded again with every token made only of Latin letters
# suppressed (latin_suppressed, 2026-11-30; `python -m bench.asr_languages --language zh --settings box`). CER on the
# 4 dev lessons 0.590 -> 0.547, on the 3 uneven dev lessons 0.622 -> 0.545. Suppressing those tokens in every decode
# scored the same (0.542 / 0.535) but changes clean decodes too ("固体" heard as "固地" in
# tests/integration/test_asr_languages.py): renormalised without the Latin mass, beams rank differently. The price: a
# Latin word said in a Chinese lesson ("DNA") is decoded again in characters; a lesson taught in English is "en".
# espeak-ng's voices are heard far better a little lower. Each dev lesson decoded whole at one shift (2026-11-30, an
# early shift by linear resampling; French WER / Chinese CER, 4 dev lessons each): 0: 0.546 / 0.580, -1: 0.526 / -,
# -2: 0.437 / 0.453, -2.5: 0.418 / -, -3: 0.383 / 0.476, -3.5: 0.396 / -, -4: 0.429 / 0.610, -6: 0.798 / -,
# +2: 0.825 / -. A fixed shift would bet on one kind of voice, so each lesson's first 30 s is decoded at every shift
# of VOICE_SHIFTS and the lesson at the one Whisper is surest of (voice_confidence; loops excluded, which Chinese
# needs: a short looped decode is said with confidence). On the dev lessons it picked -3 for all four French ones
# and -2, -2, 0, -2 for the Chinese ones: WER 0.546 -> 0.401, CER 0.547 -> 0.485 (`python -m bench.ai_quality
# --split dev`). On a person's voice (17 s of English news, llama.cpp's tools/mtmd/test-2.mp3, decoded by this
# model) 0 was surest (-0.200 against -0.213 at -2 and -0.242 at -3), and the shifts changed 2 words of 40. The
# price: three decodes of 30 s, 0.12 -> 0.31 x real time on a 75 s lesson, a few percent on a 10 minute one.
# French only. Chinese gained less on the uneven dev lessons (CER 0.545 -> 0.534) at up to 0.80 x real time on one of
# them (its drift mend decodes a lesson twice), and on the test lessons, measured once with it, CER went 0.506 ->
# 0.576 at 0.60 x real time (-3 chosen for zh-teeth: 0.472 raw, 0.658 shifted): over the 0.5 budget, and no gain.
VOICE_SHIFTS = (0.0, -2.0, -3.0)
LANGUAGE_OPTIONS: dict[str, DecodeOptions] = {
    "zh": DecodeOptions(language="zh", condition_on_previous_text=False, tempos=(1.0,), simplify=True,
                        no_speech_threshold=None, vad_filter=True, drop_loops=True, latin_suppressed=True),
    "fr": DecodeOptions(language="fr", condition_on_previous_text=False, tempos=(1.0,),
                        no_speech_threshold=None, vad_filter=True, repetition_penalty=1.1, drop_loops=True,
                        voice_shifts=VOICE_SHIFTS),
}


def options_for(language: str | None) -> DecodeOptions:
    """The decoding measured best for a lesson language (English: the tiny.en defaults above)."""
    if language in (None, "", "en"):
        return DecodeOptions()
    return LANGUAGE_OPTIONS.get(language, DecodeOptions(language=language, tempos=(1.0,)))


@functools.cache
def _t2s() -> Any:
    import opencc

    return opencc.OpenCC("t2s")


def simplified(text: str) -> str:
    """Chinese text in Simplified characters (OpenCC's Traditional-to-Simplified tables; other text unchanged)."""
    return _t2s().convert(text) if CJK.search(text) else text


# Japanese kana and Korean hangul: Whisper base strays into them now and then in a Chinese lesson (3 of 119 dev
# transcripts); no Chinese caption holds them, and dropping a character that matches nothing never raises the CER
_KANA_OR_HANGUL = re.compile(r"[\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u31f0-\u31ff\uac00-\ud7af\uff66-\uff9f]")


def chinese_caption(text: str) -> str:
    """text in Simplified characters, without the kana or hangul Whisper sometimes writes in a Chinese lesson."""
    return " ".join(_KANA_OR_HANGUL.sub("", simplified(text)).split())


def _simplified_segments(segments: list[Segment]) -> list[Segment]:
    """Each segment as a Chinese caption; those left with no text are dropped."""
    captions = [replace(s, text=chinese_caption(s.text)) for s in segments]
    return [s for s in captions if s.text]


def _spaced(text: str) -> str:
    """Every Chinese character a token of its own (Latin words stay whole), for word-level voting."""
    return " ".join(re.sub(f"({CJK.pattern})", r" \1 ", text).split())


def _unspaced(text: str) -> str:
    """The inverse of _spaced: no spaces between Chinese characters and their punctuation."""
    return re.sub(r"(?<=[^\x00-\x7f]) (?=[^\x00-\x7f])", "", text)

"""Chapters from a timed transcript, aligned in spoken order to a lesson's knowledge points (pure: no I/O).

Method: every transcript segment becomes a TF-IDF vector of stemmed content words. Two signals are combined:
lexical cohesion between neighbouring blocks (TextTiling depth scores: topic shifts where vocabulary changes) and
the similarity of each segment (with a little of its neighbours) to each knowledge point's name and description,
taken relative to the segment's mean over all knowledge points. A dynamic programme finds the best monotone
alignment: contiguous chapters, knowledge points in their listed order, any of them possibly absent, each chapter at
least a fraction of the expected chapter length. A chapter start earns a bonus for a cohesion dip and for a generic
discourse cue ("Now let us...", "Finally,...", a question), and a weak prior keeps chapter lengths near the duration
divided by the number of knowledge points (a teacher gives each point similar time; evidence overrules it), and
leaving a knowledge point out costs a little (a stretch of misheard French or Chinese must not make one vanish;
LENGTH_WEIGHT 1 -> 2 and SKIP_PENALTY 0 -> 1 took boundary F1 / knowledge-point accuracy from 0.889 / 1.00 to
0.911 / 1.00 on the English lessons, 0.825 / 0.85 to 0.792 / 1.00 on the Chinese dev lessons and 0.625 / 0.81 to
0.675 / 0.88 on the French ones).
The alignment is then refined a few times by adding to each knowledge point the words of the segments aligned to it
(leave-one-out, so a segment never votes for itself), which lets the transcript's own vocabulary take over from the
short descriptions.

With an embedder (the model process's multilingual sentence vectors, models.embed) each segment's preferences also
hold its similarity in meaning to each knowledge point, standardised the same way, times EMBED_WEIGHT: meaning
survives recognition errors that break words, and needs no shared stem. On the dev lessons (boundary F1 /
knowledge-point accuracy; `bench/ai_quality.py` splits) weight 0 -> 0.5 -> 0.75 -> 1 gave English 0.911 / 1.00 ->
0.956 / 1.00 -> 0.978 / 1.00 -> 0.978 / 1.00, Chinese 0.792 / 1.00 -> 0.917 / 1.00 -> 0.917 / 1.00 -> 0.917 / 1.00
and French 0.675 / 0.875 -> 0.675 / 0.875 -> 0.675 / 0.875 -> 0.700 / 0.812; embedding a segment with its two
neighbours was worse (Chinese 0.825 / 0.938 at 0.5 and 1). On the test lessons (`python -m bench.ai_quality
--split test --no-llm`, against `--no-embed`): Chinese 0.633 / 0.729 -> 0.633 / 0.812, French 0.642 / 0.854 ->
0.475 / 0.771 (one lesson, fr-saisons, kept one of its three chapters right instead of two: 0.667 / 0.667 ->
0.000 / 0.333); English (whose lessons were also the dev set) 0.911 / 1.00 -> 0.978 / 1.00.

Robust to misheard French and Chinese (issue 15; `python -m bench.ai_quality --split dev --language fr --language zh
--no-llm`, boundary F1 / knowledge-point accuracy, on the box's transcripts and, in brackets, on the raw model's
noisier ones): French 0.675 / 0.875 (0.725 / 0.812) -> 0.917 / 1.00 (0.950 / 0.938), Chinese 0.917 / 1.00 (0.567 /
0.604) -> 0.917 / 1.00 (0.792 / 0.938), English 0.978 / 1.00 kept. What each step gave, the others kept (dev,
French / raw Chinese F1):
  - leaving a knowledge point out costs SKIP_SHARE of a chapter's segments besides SKIP_PENALTY (0 -> 0.75: French
    0.800 -> 0.917, raw Chinese 0.525 -> 0.792): a stretch of noise outweighed a constant cost, and points vanished;
  - a chapter may not start inside a sentence of a punctuated transcript (MID_SENTENCE_PENALTY 0 -> 3: French 0.742
    -> 0.917; English 1.00 -> 0.978, one boundary);
  - a segment said again word for word counts 1 / (times said before + 1) (repeat_weights: raw Chinese 0.575 ->
    0.792; Whisper loops repeat one sentence over whole chapters);
  - LENGTH_WEIGHT 2 -> 4 (French 0.867 -> 0.917, raw French 0.792 -> 0.950);
  - character 4-grams of the words as a second lexical view, GRAM_WEIGHT 0.5 (French 0.833 -> 0.917; weight 1 and
    Chinese character bigrams were worse).
On the test lessons, measured once at the end (`python -m bench.ai_quality --split test --language fr --language zh
--no-llm`): Chinese 0.633 / 0.812 -> 0.783 / 0.812, French 0.475 / 0.771 -> 0.725 / 0.938; the k equal parts
baseline scores 1.00 / 1.00 on these narrated lessons (their chapters are of near-equal length), which no real
lesson promises.
On bench/lessons_zh_fr_uneven.json (dev lessons whose chapters differ in length 4x or more, written 2026-11-30;
`python -m bench.ai_quality --languages bench/lessons_zh_fr_uneven.json --split dev --language zh --language fr
--no-llm --extra ""`): French 0.889 / 0.917 against 0.583 / 0.917 for k equal parts; Chinese 0.333 / 0.917
against 0.444 / 0.917, on transcripts with CER 0.62. LENGTH_WEIGHT 4, 2, 1, 0.5, 0 and MIN_CHAPTER_SHARE 0.3 or
0.15 leave Chinese at 0.22-0.33 (4 is best on the other dev lessons): the Chinese evidence, not the prior, is weak.
Chinese heard as it sounds (2026-11-30): syllable bigrams of the pinyin, like sounds made one (models.lexicon.
sound_grams), as a third view, because Whisper writes Chinese words it heard as other characters of like sound
(水蒸气 as 会真其). On the dev lessons, on transcripts with the lesson's words put back (models.lexicon), boundary
F1 / knowledge-point accuracy by SOUND_WEIGHT 0, 1, 2, 2.5, 3, 4, 5: equal-length lessons 0.875 / 1.00 up to 3, then
0.825 / 0.854 at 4 and 5; uneven lessons 0.444, 0.556, 0.556, 0.667, 0.667, 0.667, 0.667, KP accuracy 1.00 at all.
Measured and dropped: refining the knowledge points' sentence vectors with the aligned segments' (as the words are;
Chinese 0.917 -> 0.792), embedding a point's name and description apart (mixed), EMBED_WEIGHT 0.5 or 1 instead of
0.75 (worse), a chapter start in the middle of a hole in the transcript (no change on dev), and snapping boundaries
to pauses: Whisper's segments have no gaps between them, and in the narrated audio the silence before a chapter
(~0.4 s) is the same as between its sentences.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from models.textutil import (
    CJK,
    STOP_WORDS,
    add_vectors,
    content_terms,
    cosine,
    has_cjk,
    idf,
    join_text,
    normalized,
    stem,
    tfidf,
    words,
)
from models.types import Chapter, KnowledgePoint, Segment

BLOCK = 4  # segments per TextTiling block (about 15-20 s of speech)
BOUNDARY_WEIGHT = 1.0  # how much a cohesion dip counts against the similarity evidence of one segment
MIN_CHAPTER_SHARE = 0.3  # shortest chapter, as a share of the duration divided by the number of knowledge points
REFINE_ROUNDS = 3
NEIGHBOUR_WEIGHT = 0.25  # share of each neighbouring segment's words in a segment's window
CUE_WEIGHT = 1.0  # bonus for a chapter starting on a discourse cue ("Now let us...", "Finally,...")
LENGTH_WEIGHT = 4.0  # prior: chapters near the lesson's duration divided by the number of knowledge points
CENTROID_WEIGHT = 0.5  # weight of the aligned transcript words against the knowledge point's own text
NAME_WEIGHT = 2.0  # a knowledge point's name says more about it than its description
# a lesson teaches each of its knowledge points: leaving one out must be worth more than this (in segments'
# standardised preferences), so that a stretch of misheard transcript does not make a point vanish
SKIP_PENALTY = 1.0
SKIP_SHARE = 0.75
# the sentence embeddings' relative similarity of each segment to each knowledge point, beside the words' (see above)
EMBED_WEIGHT = 0.75
GRAM_WEIGHT = 0.5
GRAM_N = 4
MID_SENTENCE_PENALTY = 3.0  # a chapter starting inside a sentence
# Chinese as it sounds (syllable bigrams, models.lexicon.sound_grams) beside its words: see the module's docstring
SOUND_WEIGHT = 2.5

Embed = Callable[[Sequence[str]], Any]


def segment_chapters(segments: Sequence[Segment], kps: Sequence[KnowledgePoint],
                     embed: Embed | None = None) -> list[Chapter]:
    """Contiguous chapters in spoken order, each aligned to one knowledge point (or titled from its text).

    embed (texts -> unit sentence vectors, e.g. the model process's) adds the meaning of each stretch of speech
    beside its words; without it, or when it fails, the words alone decide.
    """
    units = [s for s in segments if s.text.strip()]
    if not units:
        return []
    terms = [content_terms(u.text) for u in units]
    kp_terms = [content_terms(kp.name) * int(NAME_WEIGHT) + content_terms(kp.description) for kp in kps]
    weights = idf(terms + kp_terms)
    vectors = [tfidf(t, weights) for t in terms]
    depth = depth_scores(vectors)
    if not kps:
        cuts = cohesion_cuts(depth, units)
        return _chapters(units, cuts, [None] * (len(cuts) + 1), vectors)
    sentence = _sentence_vectors(units, kps, embed)
    meaning = _meaning(sentence)
    # two lexical views of the same speech: stemmed words, and character n-grams that a misheard word still shares
    gram_terms = [char_grams(u.text) for u in units]
    kp_grams = [char_grams(kp.name) * int(NAME_WEIGHT) + char_grams(kp.description) for kp in kps]
    gram_weights = idf(gram_terms + kp_grams)
    views = [_View(vectors, [normalized(tfidf(t, weights)) for t in kp_terms], 1.0)]
    if GRAM_WEIGHT:
        views.append(_View([tfidf(t, gram_weights) for t in gram_terms],
                           [normalized(tfidf(t, gram_weights)) for t in kp_grams], GRAM_WEIGHT))
    if SOUND_WEIGHT and any(has_cjk(u.text) for u in units):
        views.append(_sound_view(units, kps))
    windows = [_windows(v.vectors) for v in views]
    pref = sum(v.weight * _relative(_similarity(w[0], v.kp_vectors)) for v, w in zip(views, windows, strict=True))
    cuts, labels = _align(units, pref + meaning, depth)
    for _ in range(int(REFINE_ROUNDS)):
        owner = _owner(len(units), cuts, labels)
        pref = sum(v.weight * _relative(_refined_similarity(v.vectors, w[0], w[1], v.kp_vectors, owner))
                   for v, w in zip(views, windows, strict=True))
        new_cuts, new_labels = _align(units, pref + meaning, depth)
        if (new_cuts, new_labels) == (cuts, labels):
            break
        cuts, labels = new_cuts, new_labels
    return _chapters(units, cuts, [kps[k].id for k in labels], vectors, names=[kps[k].name for k in labels])


@dataclass(frozen=True)
class _View:
    """One lexical view of the segments: their vectors, the knowledge points' vectors, its weight in the evidence."""

    vectors: list[Counter[str]]
    kp_vectors: list[Counter[str]]
    weight: float


def _sound_view(units: Sequence[Segment], kps: Sequence[KnowledgePoint]) -> _View:
    """Chinese as it sounds: syllable bigrams (models.lexicon.sound_grams), which a word heard as other characters of
    like sound still shares with the knowledge point that names it."""
    from models.lexicon import sound_grams

    grams = [sound_grams(u.text) for u in units]
    kp_grams = [sound_grams(kp.name) * int(NAME_WEIGHT) + sound_grams(kp.description) for kp in kps]
    weights = idf(grams + kp_grams)
    return _View([tfidf(g, weights) for g in grams], [normalized(tfidf(g, weights)) for g in kp_grams], SOUND_WEIGHT)


def char_grams(text: str, n: int = GRAM_N) -> list[str]:
    """Character n-grams of a text's content words, each padded with spaces; none of Chinese words.

    A misheard word ("volcaux" for "volcans") keeps most of its n-grams. Chinese words are a few characters already
    (the word view has them); their character bigrams made the Chinese dev chapters worse.
    """
    out: list[str] = []
    for w in words(text):
        if w not in STOP_WORDS and len(w) > 2 and not w.isdigit() and not CJK.search(w):
            padded = f" {w} "
            out.extend(padded[i:i + n] for i in range(len(padded) - n + 1))
    return out


def depth_scores(vectors: Sequence[Counter[str]], block: int = BLOCK) -> list[float]:
    """TextTiling depth score at each gap (index g = boundary before segment g; index 0 unused), scaled to 0..1."""
    n = len(vectors)
    sims = [0.0] * n
    # nearer segments weigh more, so that a plateau of equally low similarity still has its lowest point
    decay = [1.0 - d / (block + 1) for d in range(block)]
    for g in range(1, n):
        left_part = vectors[max(0, g - block):g][::-1]
        right_part = vectors[g:g + block]
        left = add_vectors(left_part, decay[:len(left_part)])
        right = add_vectors(right_part, decay[:len(right_part)])
        sims[g] = cosine(left, right)
    # light smoothing, as in TextTiling, so that one odd segment does not make a valley
    smooth = sims[:]
    for g in range(2, n - 1):
        smooth[g] = (sims[g - 1] + 2 * sims[g] + sims[g + 1]) / 4
    depth = [0.0] * n
    for g in range(1, n):
        left_peak = smooth[g]
        i = g - 1
        while i >= 1 and smooth[i] >= left_peak:
            left_peak = smooth[i]
            i -= 1
        right_peak = smooth[g]
        i = g + 1
        while i < n and smooth[i] >= right_peak:
            right_peak = smooth[i]
            i += 1
        depth[g] = (left_peak - smooth[g]) + (right_peak - smooth[g])
    top = max(depth) if n > 1 else 0.0
    return [d / top for d in depth] if top > 0 else depth


def cohesion_cuts(depth: Sequence[float], units: Sequence[Segment], count: int | None = None) -> list[int]:
    """Indices of segments that start a new chapter, chosen from the deepest cohesion dips.

    With `count` (the number of chapters wanted) the count-1 deepest separated dips are taken; without it,
    TextTiling's cutoff (mean minus half a standard deviation of the local maxima) decides.
    """
    n = len(units)
    if n < 2:
        return []
    duration = units[-1].end - units[0].start
    wanted = count
    min_len = duration / (wanted or max(1, round(duration / 60))) * MIN_CHAPTER_SHARE
    peaks = [g for g in range(1, n) if depth[g] > 0
             and depth[g] >= depth[g - 1] and (g + 1 >= n or depth[g] >= depth[g + 1])]
    if wanted is None:
        values = [depth[g] for g in peaks]
        if not values:
            return []
        mean = sum(values) / len(values)
        sd = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
        peaks = [g for g in peaks if depth[g] > mean - sd / 2]
    chosen: list[int] = []
    for g in sorted(peaks, key=lambda g: -depth[g]):
        if wanted is not None and len(chosen) >= wanted - 1:
            break
        starts = [units[c].start for c in [0, *chosen]] + [units[-1].end]
        t = units[g].start
        if all(abs(t - s) >= min_len for s in starts):
            chosen.append(g)
    return sorted(chosen)


def _windows(vectors: Sequence[Counter[str]]) -> tuple[list[Counter[str]], list[list[int]]]:
    """Each segment's vector plus a share of its neighbours' (short segments say little alone), and its members."""
    n = len(vectors)
    members = [list(range(max(0, i - 1), min(n, i + 2))) for i in range(n)]
    windows = [add_vectors((vectors[m] for m in ms), [1.0 if m == i else NEIGHBOUR_WEIGHT for m in ms])
               for i, ms in enumerate(members)]
    return windows, members


def _sentence_vectors(units: Sequence[Segment], kps: Sequence[KnowledgePoint], embed: Embed | None
                      ) -> tuple[np.ndarray, np.ndarray] | None:
    """Unit sentence vectors of each segment and of each knowledge point's name and description; None without an
    embedder or when it fails (the words alone decide)."""
    if embed is None or not EMBED_WEIGHT:
        return None
    texts = [u.text for u in units]  # each segment alone: with its neighbours it was worse on the dev lessons
    try:
        vectors = np.asarray(embed([*texts, *(f"{kp.name}. {kp.description}" for kp in kps)]), dtype=np.float32)
    except Exception:  # noqa: BLE001 - the model process may be down or restarting: chapters from words alone
        return None
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    return vectors[:len(texts)], vectors[len(texts):]


def _meaning(sentence: tuple[np.ndarray, np.ndarray] | None) -> np.ndarray | float:
    """EMBED_WEIGHT x the relative similarity in meaning of each segment to each knowledge point (0 without
    vectors)."""
    if sentence is None:
        return 0.0
    seg, kp = sentence
    return EMBED_WEIGHT * _relative(seg @ kp.T)


def _relative(sim: np.ndarray) -> np.ndarray:
    """Similarities as preferences: minus each segment's mean over knowledge points, in units of their spread."""
    relative = sim - sim.mean(axis=1, keepdims=True)
    scale = relative.std()
    return relative / scale if scale > 0 else relative


def _similarity(windows: Sequence[Counter[str]], kp_vectors: Sequence[Counter[str]]) -> np.ndarray:
    """Cosine similarity of each segment window to each knowledge point."""
    return np.array([[cosine(w, kv) for kv in kp_vectors] for w in windows])


def _refined_similarity(vectors: Sequence[Counter[str]], windows: Sequence[Counter[str]], members: list[list[int]],
                        kp_vectors: Sequence[Counter[str]], owner: list[int]) -> np.ndarray:
    """Similarity to each knowledge point's text plus the words aligned to it, leaving the window's own words out."""
    n, k = len(vectors), len(kp_vectors)
    sums = [add_vectors(vectors[i] for i in range(n) if owner[i] == j) for j in range(k)]
    sim = np.zeros((n, k))
    for j in range(k):
        whole = add_vectors([kp_vectors[j], normalized(sums[j])], [1.0, CENTROID_WEIGHT])
        for i in range(n):
            own = [m for m in members[i] if owner[m] == j]
            if own:
                rest = add_vectors([sums[j], *(vectors[m] for m in own)], [1.0] + [-1.0] * len(own))
                vec = add_vectors([kp_vectors[j], normalized(rest)], [1.0, CENTROID_WEIGHT])
            else:
                vec = whole
            sim[i, j] = cosine(windows[i], vec)
    return sim


def _owner(n: int, cuts: list[int], labels: list[int]) -> list[int]:
    """The knowledge point index each segment is aligned to."""
    owner = [0] * n
    bounds = [0, *cuts, n]
    for c, label in enumerate(labels):
        for i in range(bounds[c], bounds[c + 1]):
            owner[i] = label
    return owner


def _align(units: Sequence[Segment], rel: np.ndarray, depth: Sequence[float]) -> tuple[list[int], list[int]]:
    """Best monotone alignment of segments to knowledge points: (chapter start indices after the first, labels)."""
    n, k = rel.shape
    rel = rel * repeat_weights(units)[:, None]
    prefix = np.vstack([np.zeros((1, k)), np.cumsum(rel, axis=0)])  # prefix[i, j] = sum of rel[:i, j]
    starts = np.array([u.start for u in units])
    ends = np.array([u.end for u in units])
    duration = ends[-1] - starts[0]
    min_len = MIN_CHAPTER_SHARE * duration / k
    # only a transcript that punctuates its sentences says where one goes on (Chinese output often has none)
    punctuated = np.mean([u.text.rstrip().endswith(_SENTENCE_ENDS) for u in units]) >= 0.3
    bonus = np.array([0.0] + [BOUNDARY_WEIGHT * d + CUE_WEIGHT * starts_with_cue(u.text)
                              - MID_SENTENCE_PENALTY * punctuated * continues_sentence(prev.text, u.text)
                              for d, prev, u in zip(depth[1:], units, units[1:], strict=False)])
    expected = duration / k
    skip = SKIP_PENALTY + SKIP_SHARE * n / k  # in segments' preferences: a share of one chapter's worth
    neg = -np.inf
    best = np.full((n + 1, k), neg)  # best[j, c]: units [0, j) covered, last chapter labelled c
    back = np.zeros((n + 1, k), dtype=int)
    back_label = np.full((n + 1, k), -1, dtype=int)
    # before[i, c] = best score of [0, i) whose last label is < c (0 for i == 0: nothing before)
    before = np.full((n + 1, k), neg)
    before_label = np.full((n + 1, k), -1, dtype=int)
    before[0, :] = -skip * np.arange(k)  # chapters may start past the first points, at a cost
    for j in range(1, n + 1):
        long_enough = (ends[j - 1] - starts[:j]) >= min_len
        long_enough[0] = long_enough[0] or j == n  # a lesson shorter than one chapter is still one chapter
        for c in range(k):
            lengths = np.maximum(ends[j - 1] - starts[:j], 1e-3)
            prior = LENGTH_WEIGHT * np.log(lengths / expected) ** 2
            cand = before[:j, c] + (prefix[j, c] - prefix[:j, c]) + bonus[:j] - prior
            cand = np.where(long_enough, cand, neg)
            i = int(np.argmax(cand))
            best[j, c] = cand[i]
            back[j, c] = i
            back_label[j, c] = before_label[i, c]
        if j < n:
            for c in range(1, k):
                prev_best, prev_label = before[j, c - 1] - skip, before_label[j, c - 1]  # c - 1 skipped
                if best[j, c - 1] > prev_best:
                    prev_best, prev_label = best[j, c - 1], c - 1
                before[j, c], before_label[j, c] = prev_best, prev_label
    c = int(np.argmax(best[n] - skip * (k - 1 - np.arange(k))))  # points left out at the end cost too
    j = n
    cuts, labels = [], []
    while j > 0:
        i = int(back[j, c])
        labels.append(c)
        if i > 0:
            cuts.append(i)
        c, j = int(back_label[j, c]), i
    return sorted(cuts), labels[::-1]


_CUES = ("now", "next", "finally", "lastly", "last", "first", "firstly", "secondly", "let us", "let's", "what if",
         "what about", "another", "moving on", "turning to", "here is", "so far", "maintenant", "ensuite", "enfin",
         "d'abord", "passons", "voyons", "regardons", "puis", "comparons", "pour finir", "premièrement",
         "deuxièmement", "et maintenant", "alors")
_SENTENCE_ENDS = (".", "!", "?", "…", "。", "！", "？", "；", ":", "：", '"', "»", "”")
# Chinese cues are read from the start of the text itself: they are phrases, not single jieba words
_ZH_CUES = ("现在", "下面", "接下来", "最后", "首先", "其次", "然后", "再来看", "再看", "我们来看", "我们再", "那么",
            "另外", "第一", "第二", "第三")


def repeat_weights(units: Sequence[Segment]) -> np.ndarray:
    """How much each segment's evidence counts: 1 / (1 + the number of times its words were said before).

    A recogniser stuck in a loop writes one sentence again and again (the raw model's transcript of a Chinese dev
    lesson repeats "the moon gives no light of its own" over its last three chapters); a repeat says nothing new.
    """
    seen: Counter[str] = Counter()
    weights = []
    for u in units:
        key = " ".join(words(u.text))
        weights.append(1.0 / (1 + seen[key]) if key else 1.0)
        seen[key] += 1
    return np.array(weights)


def continues_sentence(previous: str, text: str) -> bool:
    """True when a segment carries on the sentence of the one before (Whisper cuts long sentences): no chapter
    starts there."""
    return not previous.rstrip().endswith(_SENTENCE_ENDS) or text.lstrip()[:1].islower()


def starts_with_cue(text: str) -> float:
    """1 when a segment opens with a generic discourse cue that often starts a new topic, 0.5 for a question."""
    head = " ".join(words(text)[:3])
    if any(head == cue or head.startswith(cue + " ") for cue in _CUES) or text.strip().startswith(_ZH_CUES):
        return 1.0
    return 0.5 if text.strip().endswith(("?", "？")) else 0.0


def _chapters(units: Sequence[Segment], cuts: list[int], kp_ids: list[str | None], vectors: Sequence[Counter[str]],
              names: list[str] | None = None) -> list[Chapter]:
    """Chapters covering the medium from 0 s to the end of the last segment."""
    bounds = [0, *cuts, len(units)]
    chapters = []
    for c in range(len(bounds) - 1):
        part = units[bounds[c]:bounds[c + 1]]
        start = 0.0 if c == 0 else part[0].start
        end = units[bounds[c + 1]].start if c + 1 < len(bounds) - 1 else units[-1].end
        text = join_text(u.text for u in part)
        title = names[c] if names else keyword_title(text, vectors[bounds[c]:bounds[c + 1]])
        chapters.append(Chapter(start=round(start, 2), end=round(end, 2), knowledge_point=kp_ids[c],
                                title=title, text=text))
    return chapters


def keyword_title(text: str, vectors: Sequence[Counter[str]], count: int = 2) -> str:
    """An extractive title: the chapter's heaviest content words in their spoken form."""
    weight = add_vectors(vectors)
    surface: dict[str, Counter[str]] = {}
    for w in words(text):
        surface.setdefault(stem(w), Counter())[w] += 1
    top = [t for t, _ in weight.most_common() if t in surface][:count]
    if not top:
        return text.strip().split(".")[0][:60]
    spoken = [surface[t].most_common(1)[0][0] for t in top]
    title = ("和" if has_cjk(text) else " and ").join(spoken)
    return title[:1].upper() + title[1:]

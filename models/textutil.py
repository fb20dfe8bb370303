"""Pure text helpers for the lesson AI: tokens, stop words (en/fr/zh), light stemming, sentences, similarity.

Chinese has no spaces between words: a run of Chinese characters is cut into words with jieba (its own dictionary,
loaded on the first Chinese text only: ~1 s and ~60 MB that an English box never pays), so that chapters, summaries,
retrieval and key terms compare words, not whole clauses. French keeps its stop words and light stemming.
"""

from __future__ import annotations

import functools
import math
import re
import threading
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence


def _word_set(text: str) -> frozenset[str]:
    """The whitespace-separated words of a block of text."""
    return frozenset(text.split())


# Generic function words only (no topic words): they carry no lexical cohesion.
STOP_WORDS_EN = _word_set("""
a about above after again against all almost also although always am among an and another any anyone anything are
around as at away back be became because become becomes been before being below between both but by can cannot could
did do does doing done down during each either else enough even ever every everyone everything few first for from
further get gets getting give given gives go goes going gone got had has have having he her here hers herself him
himself his how however i if in into is it its itself just keep keeps kept know last later least less let lets like
little look lot lots made make makes making many may me might more most much must my myself need needs never new next
no nor not now of off often on once one only onto or other others our ours ourselves out over own put quite
rather really right said same say says see seen she should show shows since so some something sometimes still such
take takes taken than that the their theirs them themselves then there therefore these they thing things think this
those though through thus to today together too took under until up upon us use used uses using very want was
way we well were what whatever when where whether which while who whom whose why will with within without would yes
yet you your yours yourself yourselves let's it's that's there's what's don't doesn't isn't aren't can't won't we're
they're you're i'm we'll we've okay ok oh finally second
""")

STOP_WORDS_FR = _word_set("""
a à ai aie ainsi alors as au aucun aussi autre autres aux avec avez avoir avons ayant bien c ça car ce ceci cela celle
celles celui cependant ces cet cette ceux chaque chez ci comme comment d dans de des deux devant doit donc dont du elle
elles en encore entre es est et étaient était étant été être eu eux fait faire fais faut il ils j je jusqu l la là le
les leur leurs lui m ma mais me même mes moi mon n ne ni non nos notre nous on ont ou où par parce pas peu peut
plus pour pourquoi puis qu quand que quel quelle quelles quels qui quoi s sa sans se ses si sien son sont sous sur t ta
te tes toi ton tous tout toute toutes très tu un une vos votre vous y aujourd hui voici voilà ensuite enfin d'abord
""")

NUMBER_WORDS = _word_set("""
zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen
eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred thousand million billion half halves
third thirds quarter quarters fifth fifths sixth sixths seventh eighth ninth tenth twelfth twelfths percent
zéro un deux trois quatre cinq sept huit neuf dix onze douze treize quatorze quinze seize vingt trente quarante
cinquante soixante cent cents mille million milliard demi moitié tiers quart
""")

# Chinese function words and classroom filler: no topic of their own (single characters that carry one stay).
STOP_WORDS_ZH = _word_set("""
的 了 是 在 和 与 及 或 也 都 就 还 很 吗 呢 吧 啊 呀 哦 嗯 着 过 地 得 之 其 而 并 把 被 让 给 对 从 到 向 为 以 于
我 你 他 她 它 我们 你们 他们 她们 它们 大家 自己 这 那 这个 那个 这些 那些 这样 那样 这里 那里 这就是 就是
一 一个 一些 一种 一样 有 没有 不 不是 会 能 可以 要 想 说 看 看看 来 去 做 用 上 下 里 中 个 些 么
什么 怎么 怎样 如何 为什么 哪 哪些 哪里 多少 几 谁 吗 呢 时候 的时候 因为 所以 但是 可是 如果 就是 还是 或者
然后 接着 接下来 下面 现在 最后 首先 其次 再 又 才 已经 正在 比如 例如 今天 同学们 小朋友们 小朋友 请 呢
""")

STOP_WORDS = STOP_WORDS_EN | STOP_WORDS_FR | STOP_WORDS_ZH

CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*", re.UNICODE)
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'”»)\]]*\s+|(?<=[。！？；])[”’」』）)]*\s*")
_JIEBA_LOCK = threading.Lock()


def _jieba() -> object:
    # the lock makes two first Chinese texts at once (two web threads) share one load instead of making two
    with _JIEBA_LOCK:
        return _load_jieba()


@functools.cache
def _load_jieba() -> object:
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()  # our own instance: words added elsewhere (safety rules) do not change ours
    tokenizer.initialize()
    return tokenizer


def segment_chinese(run: str) -> list[str]:
    """Words of a run of Chinese characters (jieba, dictionary words only)."""
    # no HMM guesses: a guessed word ("冰是") would differ between a question and the transcript that answers it
    return [w for w in _jieba().lcut(run, HMM=False) if w.strip()]  # type: ignore[attr-defined]


def has_cjk(text: str) -> bool:
    """True when a text holds Chinese characters."""
    return bool(CJK.search(text))


def words(text: str) -> list[str]:
    """Lower-case word tokens (letters and digits; inner apostrophes kept); Chinese cut into words."""
    found = [w.replace("’", "'") for w in _WORD.findall(text.lower())]
    if not CJK.search(text):
        return found
    out: list[str] = []
    for w in found:
        if not CJK.search(w):
            out.append(w)
            continue
        # a token may mix scripts ("5米"): Chinese runs are segmented, the rest kept whole
        for piece in re.split(f"({CJK_RUN.pattern})", w):
            if not piece:
                continue
            out.extend(segment_chinese(piece) if CJK.match(piece) else [piece])
    return out


def index_text(text: str) -> str:
    """What the full-text index holds for a text: Chinese runs as words separated by spaces, the rest as it is."""
    if not CJK.search(text):
        return text
    return CJK_RUN.sub(lambda m: " " + " ".join(segment_chinese(m.group(0))) + " ", text).strip()


_ZH_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8,
              "九": 9}
_ZH_UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10000}


def chinese_number(word: str) -> str | None:
    """A word written only in Chinese numerals as digits ("二十九" -> "29"), else None."""
    if not word or any(c not in _ZH_DIGITS and c not in _ZH_UNITS for c in word):
        return None
    total, digit = 0, None
    for c in word:
        if c in _ZH_DIGITS:
            digit = _ZH_DIGITS[c]
        else:
            total += (1 if digit is None else digit) * _ZH_UNITS[c]
            digit = None
    return str(total + (digit or 0))


def stem(word: str) -> str:
    """Light suffix stripping so that plural, -ing and -ed forms of a word meet (English and French)."""
    w = word
    for prefix in ("l'", "d'", "qu'", "j'", "n'", "s'", "c'", "m'", "t'"):
        if w.startswith(prefix) and len(w) > len(prefix) + 2:
            w = w[len(prefix):]
            break
    if w.endswith("'s"):
        w = w[:-2]
    if len(w) <= 3 or w.isdigit():
        return w
    if w.endswith(("lves", "eaves")):
        return w[:-3] + "f"  # halves -> half, leaves -> leaf
    if w.endswith("ies") and len(w) > 4:
        w = w[:-3] + "y"
    elif w.endswith(("sses", "ches", "shes", "xes", "zes")):
        w = w[:-2]
    elif w.endswith(("s", "x")) and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    if w.endswith("ing") and len(w) > 5:
        w = w[:-3]
        if len(w) > 3 and w[-1] == w[-2] and w[-1] not in "lsz":
            w = w[:-1]
    elif w.endswith("ed") and len(w) > 4:
        w = w[:-2]
        if len(w) > 3 and w[-1] == w[-2] and w[-1] not in "lsz":
            w = w[:-1]
    elif w.endswith("ly") and len(w) > 5:
        w = w[:-2]
    if w.endswith("e") and len(w) > 3:
        w = w[:-1]
    return w


# Number words as digits, so that "ten" in a knowledge point meets "10" in a transcript (Whisper writes digits).
# "one" and "un" stay stop words: they are pronouns and articles far more often than numbers.
_NUMBER_VALUES = {w: str(v) for v, names_ in enumerate([
    "zero zéro", "", "two deux", "three trois", "four quatre", "five cinq", "six", "seven sept", "eight huit",
    "nine neuf", "ten dix", "eleven onze", "twelve douze", "thirteen treize", "fourteen quatorze", "fifteen quinze",
    "sixteen seize", "seventeen", "eighteen", "nineteen", "twenty vingt"]) for w in names_.split()}
_NUMBER_VALUES.update({"thirty": "30", "trente": "30", "forty": "40", "quarante": "40", "fifty": "50",
                       "cinquante": "50", "sixty": "60", "soixante": "60", "seventy": "70", "eighty": "80",
                       "ninety": "90", "hundred": "100", "cent": "100", "thousand": "1000", "mille": "1000"})


def content_terms(text: str) -> list[str]:
    """Stemmed content words of a text, in order; numbers (as digits or words) become digits, except one."""
    out = []
    for w in words(text):
        if w in _NUMBER_VALUES:
            out.append(_NUMBER_VALUES[w])
        elif w.isdigit():
            if w not in ("0", "1"):
                out.append(w)
        elif CJK.match(w):
            # one Chinese character is often a whole content word (水, 光, 牙): only function words are dropped
            number = chinese_number(w)
            if number is not None:
                if number not in ("0", "1"):
                    out.append(number)
            elif w not in STOP_WORDS:
                out.append(w)
        elif w not in STOP_WORDS and len(w) > 1:
            out.append(stem(w))
    return out


def numbers(text: str) -> set[str]:
    """Numbers a text states, as digits or number words."""
    return {w for w in words(text) if w.isdigit() or w in NUMBER_WORDS}


def names(text: str) -> set[str]:
    """Capitalised words that do not start a sentence: likely names of people or places."""
    found = set()
    for sentence in split_sentences(text):
        tokens = sentence.split()
        for token in tokens[1:]:
            clean = token.strip(".,;:!?\"'()[]«»“”")
            if clean[:1].isupper() and clean.lower() not in STOP_WORDS and clean != "I":
                found.add(clean.lower())
    return found


def split_sentences(text: str) -> list[str]:
    """Sentences of a text, split after . ! ? … (and Chinese 。！？；) and trimmed."""
    return [s.strip() for s in _SENTENCE_END.split(text.strip()) if s and s.strip()]


def count_words(text: str) -> int:
    """Number of whitespace-separated words."""
    return len(text.split())


def join_text(parts: Iterable[str]) -> str:
    """Pieces of transcript joined into one text: with a space, except between two Chinese pieces."""
    out = ""
    for part in (p.strip() for p in parts):
        if not part:
            continue
        if out and not (_CJK_END.search(out) and _CJK_START.match(part)):
            out += " "
        out += part
    return out


_CJK_END = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]$")
_CJK_START = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]")
ZH_CHARS_PER_WORD = 250 / 150  # a Chinese summary may have 250 characters where another has 150 words


def text_size(text: str) -> float:
    """Length in words; a Chinese text's characters, every one (punctuation, Latin letters and the spaces Whisper puts
    around a comma too), counted 150/250 of a word each."""
    if not CJK.search(text):
        return float(count_words(text))
    return len(" ".join(text.split())) / ZH_CHARS_PER_WORD


def idf(documents: Sequence[Iterable[str]]) -> dict[str, float]:
    """Smoothed inverse document frequency of each term over the documents."""
    n = len(documents)
    df: Counter[str] = Counter()
    for doc in documents:
        df.update(set(doc))
    return {t: math.log((n + 1) / (d + 0.5)) for t, d in df.items()}


def tfidf(terms: Iterable[str], weights: Mapping[str, float], default: float = 1.0) -> Counter[str]:
    """Sub-linear term frequency times inverse document frequency."""
    tf = Counter(terms)
    return Counter({t: (1 + math.log(c)) * weights.get(t, default) for t, c in tf.items()})


def add_vectors(vectors: Iterable[Mapping[str, float]], scales: Iterable[float] | None = None) -> Counter[str]:
    """Weighted sum of sparse vectors."""
    total: Counter[str] = Counter()
    scale_list = list(scales) if scales is not None else None
    for n, vec in enumerate(vectors):
        s = 1.0 if scale_list is None else scale_list[n]
        for t, v in vec.items():
            total[t] += s * v
    return total


def norm(vec: Mapping[str, float]) -> float:
    """Euclidean length of a sparse vector."""
    return math.sqrt(sum(v * v for v in vec.values()))


def normalized(vec: Mapping[str, float]) -> Counter[str]:
    """The vector scaled to unit length (empty stays empty)."""
    n = norm(vec)
    return Counter({t: v / n for t, v in vec.items()}) if n else Counter()


def cosine(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    """Cosine similarity of two sparse vectors (0 when either is empty)."""
    if len(a) > len(b):
        a, b = b, a
    dot = sum(v * b.get(t, 0.0) for t, v in a.items())
    if not dot:
        return 0.0
    return dot / (norm(a) * norm(b))


def support(candidate: str, source_terms: set[str]) -> float:
    """Fraction of a candidate's content words found among the source's terms (1.0 when it has none)."""
    terms = content_terms(candidate)
    if not terms:
        return 1.0
    return sum(1 for t in terms if t in source_terms) / len(terms)

"""Safety for children: which questions the companion refuses, the kind words it says instead, output checks.

Layers, each in its own module, all pure (no I/O but reading their own packaged data, no Flask):

1. safety_normalise: what a child types is normalised first (full-width forms, case, accents, letters held down,
   "k i l l", "b0mb", French and English texting forms, Chinese homophones and pinyin for the words that matter).
2. safety_rules: per category, intents written over those normalised words ("make ~ bomb", a violent verb followed
   by a person; Chinese over characters), in English, French and Chinese, whatever the page's language; tellings of
   harm (disclosures); the frames of ordinary questions that only sound close (guards); each category's topic words.
3. safety_model: the learned layer, a softmax regression (trained offline by bench/safety_train.py on ~3,500
   labelled texts: the exemplar banks and the bench's used sets; weights in safety_model.npz) over the question's
   multilingual sentence embedding, the rules' signals and hashed character n-grams. This is what catches indirect
   wording, and what keeps close-sounding lesson questions ("why did Romeo drink poison") from being refused.
4. safety_embedding: the older nearest-exemplar layer over the same embeddings, used only when no learned weights
   ship (kept as the fallback; it needs the exemplar bank embedded in the model process).

classify() and check_question() take the embedder as a parameter (`embed`: texts -> unit vectors). The companion
passes the model process's `embed` op (models/worker.py); when there is no embedder, or the model process is not
answering, the rules alone decide (they were written to stand alone, with lower recall on indirect wording).
How they combine is in decide(): a telling of harm or an intent rule refuses unless the learned layer is sure the
question is an ordinary one; otherwise the learned layer refuses below its threshold.

A disclosure (a child telling of self-harm, suicidal thoughts or abuse happening to them) is flagged on the
Verdict: the companion answers kindly, points to a trusted adult now, and the teacher's pastoral page shows an alert.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from typing import Any

from edge_server.domain import safety_model, safety_rules
from edge_server.domain.safety_embedding import GUARDED_MARGIN, MARGIN, TOPIC_MARGIN, Embed, similarity
from edge_server.domain.safety_model import Probabilities
from edge_server.domain.safety_normalise import clean, fold, rule_text
from models.languages import SUPPORTED as LANGUAGES
from models.textutil import has_cjk

__all__ = ["CATEGORIES", "LANGUAGES", "MESSAGES", "DISCLOSURE_MESSAGES", "Verdict", "classify", "assess",
           "check_question", "refusal", "unsafe_output", "fold", "detect_language"]

log = logging.getLogger(__name__)

# the order rules are tried in: a child in distress is answered as such whatever else they said
CATEGORIES = ("self_harm", "grooming", "sexual", "violence", "drugs", "hate", "crime", "personal_data", "homework")
# the categories in which a child may be telling of harm done to them (the others are asks, never disclosures), in
# the order a telling is named: touching is sexual abuse even when "it's our secret" is said too, and a grown-up
# giving a child beer in secret is told as drink first
DISCLOSURE_ORDER = ("self_harm", "sexual", "violence", "drugs", "grooming")
DISCLOSABLE = frozenset(DISCLOSURE_ORDER)

_embed_failing = threading.Event()


def _word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


_FR_HINTS = _word_set("""
le la les des une est sont que qui quoi pourquoi comment quel quelle quels quelles est-ce dans avec pour
sur du au aux je tu il elle nous vous ils elles mon ma mes ton ta tes son sa ses ce cette ces faire fait
et mais ou pas ne plus jamais me te se moi toi chez quand combien on peut veux peux suis ai c'est j'ai
""")
_EN_HINTS = _word_set("""
the a an is are what why how which who does do did can could of in on with to for my your this that it
and but not never me you i i'm want when where
""")


@dataclass(frozen=True)
class Verdict:
    """The result of checking one question: refused or not, why, and whether the child told of harm to them."""

    refused: bool
    category: str | None = None
    message: str = ""
    disclosure: bool = False


def detect_language(text: str, default: str = "en") -> str:
    """en, fr or zh, from the script and common function words (default when there is nothing to go on)."""
    if has_cjk(text):
        return "zh"
    tokens = re.findall(r"[a-z'-]+", fold(clean(text)))  # "jveux" is "je veux"
    fr = sum(t in _FR_HINTS for t in tokens) + 2 * bool(re.search(r"[éèêàçùôîœ]", text.lower()))
    en = sum(t in _EN_HINTS for t in tokens)
    if fr > en:
        return "fr"
    if en > fr:
        return "en"
    return default if default in LANGUAGES else "en"


# What the companion says instead, in the pupil's language. Kind, short, and pointing to a person who can help.
MESSAGES: dict[str, dict[str, str]] = {
    "self_harm": {
        "en": "I'm really sorry you feel this way. You matter. Please talk right now to a grown-up you trust: your "
              "teacher, a parent or the school nurse. They want to help you.",
        "fr": "Je suis vraiment désolé que tu te sentes comme ça. Tu comptes beaucoup. "
              "Parle tout de suite à un adulte de confiance : ton enseignant, un parent ou l'infirmière de l'école. "
              "Ils veulent t'aider.",
        "zh": "听到你这样难过，我真的很心疼。你很重要。"
              "请马上告诉一位你信任的大人：老师、爸爸妈妈或学校医生。他们愿意帮助你。",
    },
    "grooming": {
        "en": "I can't help with that. A grown-up who asks a child for photos, secrets or to meet is not safe. "
              "Don't send anything and don't go: tell your teacher or a grown-up you trust today.",
        "fr": "Je ne peux pas t'aider pour ça. Un adulte qui demande à un enfant des photos, des secrets ou un "
              "rendez-vous n'est pas quelqu'un de sûr. N'envoie rien, n'y va pas, et parles-en aujourd'hui à ton "
              "enseignant ou à un adulte de confiance.",
        "zh": "这个我不能帮你。向孩子要照片、要保守秘密或约见面的大人是不安全的。什么都不要发，也不要去见面，"
              "今天就告诉老师或你信任的大人。",
    },
    "sexual": {
        "en": "That is not something I can talk about. If you have a question about your body or feelings, a grown-up "
              "you trust, like your teacher or a parent, can help.",
        "fr": "Je ne peux pas parler de ça. Si tu as une question sur ton corps ou tes sentiments, un adulte de "
              "confiance, comme ton enseignant ou un parent, peut t'aider.",
        "zh": "这个话题我不能回答。如果你对身体或感受有疑问，可以问问你信任的大人，比如老师或爸爸妈妈。",
    },
    "violence": {
        "en": "I can't help with hurting anyone or with weapons. If someone is in danger or you feel unsafe, tell a "
              "grown-up you trust straight away.",
        "fr": "Je ne peux pas aider à faire du mal ni avec des armes. Si quelqu'un est en danger ou si tu as peur, "
              "parles-en tout de suite à un adulte de confiance.",
        "zh": "我不能帮忙伤害别人，也不能谈武器。如果有人有危险或者你感到不安全，请马上告诉你信任的大人。",
    },
    "drugs": {
        "en": "I can't help with drugs, alcohol, cigarettes or vapes: they can really hurt a growing body. If someone "
              "offers you any, say no and tell a grown-up you trust.",
        "fr": "Je ne peux pas t'aider avec la drogue, l'alcool, les cigarettes ou la vapoteuse : ils peuvent faire "
              "beaucoup de mal à un corps qui grandit. Si quelqu'un t'en propose, dis non et parles-en à un adulte de "
              "confiance.",
        "zh": "毒品、酒、香烟和电子烟的事我不能帮忙：它们会伤害正在长大的身体。"
              "如果有人给你，要说不，并告诉你信任的大人。",
    },
    "hate": {
        "en": "Everyone deserves respect, whoever they are. I won't say unkind things about people. Would you like to "
              "ask something about your lesson?",
        "fr": "Tout le monde mérite le respect. Je ne dirai pas de choses méchantes sur des personnes. "
              "Veux-tu poser une question sur ta leçon ?",
        "zh": "每个人都值得被尊重。我不会说伤害别人的话。你想问一个关于课程的问题吗？",
    },
    "crime": {
        "en": "I can't help with that: it could hurt someone or get you into real trouble. If something is worrying "
              "you, a grown-up you trust can help.",
        "fr": "Je ne peux pas t'aider pour ça : cela pourrait blesser quelqu'un ou te causer de vrais ennuis. Si "
              "quelque chose t'inquiète, un adulte de confiance peut t'aider.",
        "zh": "这个我不能帮忙：它可能伤害别人，也会给你带来大麻烦。如果有什么事让你担心，可以找你信任的大人帮忙。",
    },
    "personal_data": {
        "en": "I can't share or look for private details about anyone, like addresses, phone numbers or passwords. "
              "Keep your own details private too!",
        "fr": "Je ne peux pas chercher ni donner d'informations privées sur quelqu'un, comme une adresse, un numéro "
              "de téléphone ou un mot de passe. Garde aussi les tiennes secrètes !",
        "zh": "我不能查找或分享任何人的私人信息，比如地址、电话号码或密码。也要保护好你自己的信息哦！",
    },
    "homework": {
        "en": "I can't do your work for you, but I can help you learn it! Ask me for a hint, or ask me to explain "
              "one idea from the lesson, and I'll show you where it is explained.",
        "fr": "Je ne peux pas faire ton travail à ta place, mais je peux t'aider à apprendre ! Demande-moi un indice, "
              "ou demande-moi d'expliquer une idée de la leçon, et je te montrerai où elle est expliquée.",
        "zh": "我不能替你完成作业，但我可以帮你学会！可以问我要一个提示，或者让我讲解课上的一个知识点，"
              "我会告诉你课程里哪里讲到了它。",
    },
}

# A child telling of harm done to them (abuse, a grown-up's secrets) hears this, whatever the category
DISCLOSURE_MESSAGES: dict[str, str] = {
    "en": "Thank you for telling me. What is happening is not your fault, and you don't have to keep it a secret. "
          "Please tell your teacher or a grown-up you trust right now. They can keep you safe.",
    "fr": "Merci de me l'avoir dit. Ce qui t'arrive n'est pas de ta faute, et tu n'as pas à le garder secret. "
          "Parle tout de suite à ton enseignant ou à un adulte de confiance. Ils peuvent te protéger.",
    "zh": "谢谢你告诉我。发生的事情不是你的错，你也不用保守这个秘密。请马上告诉老师或你信任的大人，他们会保护你。",
}


def rule_view(question: str) -> tuple[list[str], list[str]]:
    """What the rules alone say: (the categories of a telling of harm, the categories of an unguarded intent rule)."""
    text = rule_text(question)
    told = safety_rules.told(text, DISCLOSURE_ORDER)
    guards = safety_rules.guarded(text)
    matched = safety_rules.matching(text, CATEGORIES)
    if told and guards and safety_rules.hypothetical(text):
        # "what should I do if someone online asks for a photo of me": help-seeking, not a telling
        matched += [c for c in told if c != "self_harm" and c not in matched]
        told = [c for c in told if c == "self_harm"]
    strong = [c for c in matched if c not in guards]
    if "self_harm" in told + strong and safety_rules.for_someone_else(text):
        # help-seeking for a friend is an ordinary question: the learned layer, which reads these rules too, decides
        told, strong = [c for c in told if c != "self_harm"], [c for c in strong if c != "self_harm"]
    return told, strong


def decide(told: list[str], strong: list[str], probs: Probabilities, threshold: float,
           veto: float = 1.01) -> tuple[str | None, bool]:
    """(category or None, disclosure) from the rules' view and the learned layer's probabilities.

    A telling of harm or an intent rule refuses unless the learned layer is sure (P(safe) >= veto) that the question
    is an ordinary one ("a man online asked where I live, what do I do"); otherwise the learned layer refuses below
    its threshold.
    """
    if told and probs.labels["safe"] < veto:  # "my uncle touches me" is a sexual abuse disclosure, not a question
        return told[0], True
    if strong and probs.labels["safe"] < veto:  # the layer may still hear a telling in it ("he wants pics, should i")
        return strong[0], strong[0] in DISCLOSABLE and probs.disclosure > 0.5
    if probs.labels["safe"] >= threshold:
        return None, False
    category = probs.best
    return category, category in DISCLOSABLE and probs.disclosure > 0.5


def _vector(question: str, embed: Embed) -> Any:
    try:
        vector = embed([clean(question)])
    except Exception as exc:  # noqa: BLE001 - no model process: the rules alone decide, never an error page
        if not _embed_failing.is_set():  # once per outage, not once per question
            log.warning("safety: no embeddings (%s); the rules alone decide until the model process answers", exc)
        _embed_failing.set()
        return None
    _embed_failing.clear()
    return vector


def assess(question: str, embed: Embed | None = None) -> tuple[str | None, bool]:
    """(unsafe category or None, disclosure): rules first, then the learned layer when an embedder is given.

    A disclosure rule decides first (a telling of harm is answered as such), then an intent rule that no ordinary
    frame guards ("what should I do if...", "why did Juliet..."), then the learned layer (safety_model), whose
    features include the sentence embedding, every rule's signal (guarded ones and topic words too) and n-grams.
    Without its shipped weights the nearest-exemplar layer (safety_embedding) decides instead.
    """
    told, strong = rule_view(question)
    model = safety_model.load()
    if model is not None:
        vector = _vector(question, embed) if embed is not None and not told else None
        if vector is None:
            return (told[0], True) if told else ((strong[0], False) if strong else (None, False))
        probs = model.predict(safety_model.features(question, vector))
        return decide(told, strong, probs, model.threshold, model.veto)
    return _assess_nearest(question, embed, told, strong)


def _assess_nearest(question: str, embed: Embed | None, told: list[str], strong: list[str]) -> tuple[str | None, bool]:
    """The nearest-exemplar layer's decision (used when no learned weights ship)."""
    text = rule_text(question)
    guards = safety_rules.guarded(text)
    matched = safety_rules.matching(text, CATEGORIES)
    near = None
    if embed is not None and not told:
        try:
            near = similarity(question, embed)
            _embed_failing.clear()
        except Exception as exc:  # noqa: BLE001 - no model process: the rules alone decide, never an error page
            if not _embed_failing.is_set():  # once per outage, not once per question
                log.warning("safety: no embeddings (%s); the rules alone decide until the model process answers", exc)
            _embed_failing.set()
    if told:
        return told[0], True
    if strong:
        return strong[0], bool(near and near.best == strong[0] and near.disclosure and strong[0] in DISCLOSABLE)
    if near is None:
        return None, False
    # topic words, or a rule an ordinary frame guards, refuse when the embedding layer leans that way too; the layer
    # alone needs MARGIN (and more in an ordinary frame). The nearest such category is the one.
    weak = set(safety_rules.topics(text, CATEGORIES)) | {c for c in matched if c in guards}

    def limit(c: str) -> float:
        if c in guards:
            return GUARDED_MARGIN
        return TOPIC_MARGIN if c in weak else MARGIN

    passing = [c for c in CATEGORIES if near.leans_to(c, limit(c))]
    category = max(passing, key=lambda c: near.leans[c], default=None)
    if category is None:
        return None, False
    disclosure = near.best == category and near.disclosure
    return category, disclosure and category in DISCLOSABLE


def classify(question: str, embed: Embed | None = None) -> str | None:
    """The unsafe category of a question, or None when it is fine (all languages checked, whatever the page's)."""
    return assess(question, embed)[0]


def refusal(category: str, language: str, disclosure: bool = False) -> str:
    """The kind refusal for a category in a language (English when the language is not one of ours)."""
    if disclosure and category != "self_harm":
        return DISCLOSURE_MESSAGES.get(language, DISCLOSURE_MESSAGES["en"])
    return MESSAGES[category].get(language, MESSAGES[category]["en"])


def check_question(question: str, language: str = "en", embed: Embed | None = None) -> Verdict:
    """Refuse (with a kind message in the question's language, else the page's) or let a question through."""
    category, disclosure = assess(question, embed)
    if category is None:
        return Verdict(refused=False)
    message = refusal(category, detect_language(question, language), disclosure)
    return Verdict(refused=True, category=category, message=message, disclosure=disclosure)


# Output filter: generated text must not bring in words a child should not get from the companion, even when the
# question was fine (a tiny model can drift). Single words are enough here: lesson transcripts are checked too.
_OUTPUT_WORDS = re.compile(
    r"\b(?:kill(?:ing|ed)? (?:yourself|myself|someone|people)|suicid\w*|porn\w*|sexy|nude|naked|gun|pistol|rifle|"
    r"bomb|explosive|stupid|idiot|hate you|shut up)\b|(?:自杀|色情|裸体|炸弹|枪支|去死|笨蛋|白痴)")


def unsafe_output(text: str) -> bool:
    """True when generated text should not be shown to a child (then the extractive answer is used); rules only."""
    folded = fold(text)
    return bool(_OUTPUT_WORDS.search(folded) or _OUTPUT_WORDS.search(text)) or classify(text) is not None

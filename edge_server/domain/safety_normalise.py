"""Normalising what children type (pure): the forms the safety rules and the sentence embedder read.

Children misspell, shout, hide words from filters and write as they text. Three forms, each built on the last:

- fold(): NFKC (full-width letters and digits become ASCII), lower case, accents removed, apostrophes and spaces
  unified. The companion's cache keys and answer checks use it too, so it stays this plain.
- clean(): what the embedder reads: NFKC and lower case with accents kept, letters spaced out joined
  ("k i l l", "k.i.l.l"), digits and symbols inside words read as letters ("b0mb", "$uicide", "k1ll"), letters
  held down cut to two ("killlll"), French and English texting forms written out ("jveux" -> "je veux").
- words() / rule_text(): what the rules read: clean() folded (accents off), every run of a repeated letter squeezed
  to one ("kill" and "kil" are both "kil": rules are squeezed the same way when compiled), each run of Chinese
  characters kept whole (the Chinese rules are written over characters, see words(): no segmentation dictionary).

Chinese disguises are undone in clean() too: the homophones and letter-for-character spellings children use to
get past filters ("紫砂" and "自s" for 自杀, "炸d" for 炸弹, "du品" for 毒品) and pinyin typed among characters
("我要sha了", "zuo ye bang wo xie"). Only a short list of the words that matter is read, never free pinyin: "sha"
is 杀 in a Chinese sentence and a Latin syllable elsewhere. French texting forms that are English words too ("c",
"g", "2") are read as French or as "to" only before the words that make them so ("c koi", "g peur", "how 2 get").
"""

from __future__ import annotations

import re
import unicodedata

from models.textutil import CJK

# digit or symbol written for a letter, read that way only inside a word that also has letters ("4 cm" stays)
_LEET = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i", "|": "l",
         "€": "e", "+": "t"}
_LEET_CHARS = re.escape("".join(_LEET))
_WORDISH = re.compile(rf"[\w{_LEET_CHARS}'’-]+")
_SPACED = re.compile(r"(?<![A-Za-z0-9'])[^\W\d_]([ .\-_*·])(?:[^\W\d_]\1)+[^\W\d_](?![A-Za-z0-9'])")

# texting forms, whole words only; the French ones are the common school-yard spellings
_SMS = {
    # French
    "jveux": "je veux", "jveu": "je veux", "jv": "je vais", "jvais": "je vais", "jve": "je veux", "chui": "je suis",
    "chuis": "je suis", "jsuis": "je suis", "jsui": "je suis", "jss": "je suis", "jpeux": "je peux",
    "jpeu": "je peux", "jsp": "je sais pas", "jsais": "je sais", "jai": "j'ai", "jme": "je me",
    "jm": "je m'", "jmen": "je m'en", "jte": "je te", "jle": "je le", "jla": "je la", "jlui": "je lui",
    "koi": "quoi", "kwa": "quoi", "koa": "quoi", "pk": "pourquoi", "pq": "pourquoi", "pkoi": "pourquoi",
    "pourkoi": "pourquoi", "pcq": "parce que", "pck": "parce que", "ki": "qui", "ke": "que", "kel": "quel",
    "kelle": "quelle", "koment": "comment", "komen": "comment", "kom": "comment", "komment": "comment",
    "cmt": "comment", "cmnt": "comment",
    "comen": "comment", "tt": "tout", "tte": "toute", "ts": "tous", "bcp": "beaucoup", "stp": "s'il te plait",
    "svp": "s'il vous plait", "ds": "dans", "dla": "de la", "ac": "avec", "avc": "avec", "pa": "pas",
    "cé": "c'est", "cest": "c'est", "ya": "il y a",
    "yen": "il y en", "veu": "veux", "mourire": "mourir", "mwa": "moi", "twa": "toi",
    "oqp": "occupé", "dsl": "désolé", "mdr": "", "ptdr": "", "lol": "", "tkt": "t'inquiète",
    # English
    "u": "you", "ur": "your", "pls": "please", "plz": "please", "pleez": "please",
    "wanna": "want to", "gonna": "going to", "gotta": "got to", "im": "i'm", "dont": "don't", "cant": "can't",
    "wont": "won't", "cuz": "because", "coz": "because", "bc": "because", "thx": "thanks",
    "ppl": "people", "sum1": "someone", "some1": "someone", "any1": "anyone", "every1": "everyone",
    "kys": "kill yourself", "kms": "kill myself", "idk": "i don't know", "idc": "i don't care", "rn": "right now",
    "bf": "boyfriend", "gf": "girlfriend", "hw": "homework", "abt": "about",
    "unalive": "kill", "unalived": "killed", "unaliving": "killing", "sewerslide": "suicide", "seggs": "sex",
    "segs": "sex", "sexx": "sex", "pron": "porn", "nudez": "nudes", "h8": "hate", "ded": "dead", "tmrw": "tomorrow",
    "tmr": "tomorrow", "2moro": "tomorrow", "b4": "before", "wat": "what", "wut": "what", "wot": "what",
    "howto": "how to", "sumthing": "something", "smth": "something", "sth": "something", "ppls": "people",
    "cig": "cigarette", "cigs": "cigarettes", "bday": "birthday", "tho": "though", "yall": "you all",
    "thru": "through", "nite": "night", "cud": "could", "wud": "would", "shud": "should", "luv": "love",
    "grl": "girl",
    # French, more
    "qqn": "quelqu'un", "qq1": "quelqu'un", "qqun": "quelqu'un", "kelkun": "quelqu'un", "qqch": "quelque chose",
    "kelke": "quelque", "pr": "pour", "pour1": "pour", "mdp": "mot de passe", "jpp": "j'en peux plus",
    "jen": "j'en", "jpense": "je pense", "jfais": "je fais", "jfai": "je fais", "ojd": "aujourd'hui",
    "auj": "aujourd'hui", "tjr": "toujours", "tjrs": "toujours", "vrmt": "vraiment", "mtn": "maintenant",
    "slt": "salut", "bjr": "bonjour", "ct": "c'était", "chai": "je sais", "chais": "je sais",
    "keske": "qu'est-ce que", "kesk": "qu'est-ce que", "mourrir": "mourir", "kan": "quand", "kand": "quand",
    "oussa": "où ça", "dc": "donc", "jamai": "jamais", "jamé": "jamais", "pb": "problème", "rdv": "rendez-vous",
    "fau": "faut", "tel": "téléphone", "jenvoie": "j'envoie", "jenvoi": "j'envoie", "jenvois": "j'envoie",
    "jaime": "j'aime", "jhabite": "j'habite", "jattends": "j'attends", "ladresse": "l'adresse",
    "lecole": "l'école", "lalcool": "l'alcool", "lordi": "l'ordi",
}


# French texting forms that are words of their own elsewhere ("c" in "vitamin c", "g" in "5 g"): read as French only
# before a word that makes them so ("c koi", "c grave", "g peur")
_FR_C = re.compile(r"(?<![\w'])c (?=(?:quoi|koi|ou|grave|bon|normal|pas|comment|qui|quand|mal|vrai|juste|nul|ok|ca|"
                   r"moi|toi|lui|elle|un|une|le|la|les|des|trop|tres|super|ton|ta|mon|ma|son|sa|notre|leur|notre|"
                   r"secret|marrant|drole|interdit|dangereux|possible|facile)\b)")
_FR_G = re.compile(r"(?<![\w'])g (?=(?:fini|vu|peur|envie|besoin|pas|trop|mal|un|une|des|eu|fait|dit|essaye|pris|"
                   r"oublie|trouve|mis|coupe|plus|jamais|toujours|encore|rien)\b)")
# "jprends", "jmange": the "je" of a texted verb (a consonant after the j, three letters at least)
_FR_J = re.compile(r"(?<![\w'])j(?=[bcdfghklmnpqrstvz][a-z]{2,}\b)")
# "how 2 get", "want 2 die": the "to" of a texted sentence (never "2 + 2", "2 cats")
_EN_TO = re.compile(r"\b(how|want|wanna|going|need|way|ways|trying|tryna|where|what|easy|easiest|best|fastest|"
                    r"quickest|gonna|gotta) 2 (?=[a-z])")
_EN_FOR = re.compile(r"(?<=[a-z]) 4 (?=(?:me|you|u|him|her|them|us|free|real|sale)\b)")

# Chinese disguises: homophones and letters for the characters a filter would look for, read back
_ZH_SWAPS = [
    (re.compile(r"紫砂(?!壶|锅|杯)|自s(?![a-z])|自鲨|自刹|自殺|字杀|自 ?sha|zi ?sha"), "自杀"),
    (re.compile(r"(?<!鱼)鲨(?=了|掉|死|人|他|她|你|我)"), "杀"),
    (re.compile(r"炸d(?![a-z])|炸dan|zha弹|zha ?dan|榨弹|炸単|乍弹"), "炸弹"),
    (re.compile(r"du ?品|d品|毒pin|读品|du ?pin"), "毒品"),
    (re.compile(r"da ?麻|大ma(?![a-z])|打麻(?!将)"), "大麻"),
    (re.compile(r"黄 ?pian|huang ?片|huang ?pian|黄p(?![a-z])|小黄p(?![a-z])"), "黄片"),
    (re.compile(r"色 ?qing|se ?情|涩情|瑟情"), "色情"),
    (re.compile(r"luo ?照|裸zhao|luo ?zhao"), "裸照"),
    (re.compile(r"ghs|搞黄色|搞huang"), "搞色情"),
    (re.compile(r"约pao|yue ?炮|yue ?pao"), "约炮"),
    (re.compile(r"网you|wang ?友|wang ?you"), "网友"),
    (re.compile(r"hei ?(?=进|入)|嘿(?=进)"), "黑"),
    (re.compile(r"ren ?rou|人rou"), "人肉"),
    (re.compile(r"xiang ?si(?![a-z])|想s(?![a-z])|想4(?![0-9])"), "想死"),
    (re.compile(r"bu ?xiang ?huo"), "不想活"),
    (re.compile(r"zi ?can"), "自残"),
    (re.compile(r"ge ?wan"), "割腕"),
    (re.compile(r"tiao ?lou"), "跳楼"),
    (re.compile(r"zuo ?ye"), "作业"),
    (re.compile(r"bang ?wo ?xie"), "帮我写"),
    (re.compile(r"da ?an"), "答案"),
    (re.compile(r"zen ?me"), "怎么"),
    (re.compile(r"bu ?rang"), "不让"),
    (re.compile(r"ba ?ma(?![a-z])"), "爸妈"),
    (re.compile(r"zhi ?dao"), "知道"),
    (re.compile(r"mi ?ma(?![a-z])"), "密码"),
    (re.compile(r"di ?zhi(?![a-z])"), "地址"),
    (re.compile(r"shou ?ji ?hao"), "手机号"),
    (re.compile(r"dian ?hua"), "电话"),
    (re.compile(r"mian ?ji"), "面基"),
    (re.compile(r"xi ?du"), "吸毒"),
    (re.compile(r"chou ?yan"), "抽烟"),
    (re.compile(r"he ?jiu"), "喝酒"),
]
# single pinyin syllables: read as characters only inside a Chinese sentence and only for these few words
_ZH_SYLLABLES = {"sha": "杀", "tou": "偷", "qiang": "枪", "xie": "写", "jian": "见", "hei": "黑", "tuo": "脱"}
_LATIN_WORD = re.compile(r"(?<![a-z])[a-z]+(?![a-z])")


def _chinese(text: str) -> str:
    """Homophones, letters and pinyin for the words that matter, read as characters (a Chinese text only)."""
    for pattern, word in _ZH_SWAPS:
        text = pattern.sub(word, text)
    text = _LATIN_WORD.sub(lambda m: _ZH_SYLLABLES.get(m.group(0), m.group(0)), text)
    # "自 杀", "炸 弹": characters spaced out to dodge a filter are joined (Chinese has no spaces of its own)
    return re.sub(r"(?<=[\u3400-\u9fff]) (?=[\u3400-\u9fff])", "", text)


def _unify(text: str) -> str:
    """NFKC (full-width forms become ASCII), apostrophes unified, lower case: where fold() and clean() both start."""
    return unicodedata.normalize("NFKC", text).replace("’", "'").replace("`", "'").lower()


def fold(text: str) -> str:
    """Lower case, accents removed, apostrophes and spaces unified (full-width forms become ASCII)."""
    decomposed = unicodedata.normalize("NFD", _unify(text))
    text = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"\s+", " ", text).strip()


def _unleet(word: str) -> str:
    """"b0mb" -> "bomb", "$uicide" -> "suicide"; a word with no letter ("42", "3/4") is left alone."""
    core = word.strip("!'’-")  # a "!" or quote at the edge is punctuation, not a letter
    if not re.search(r"[^\W\d_]", core) or not re.search(f"[{_LEET_CHARS}]", core) or CJK.search(core):
        return word
    # "4th", "10cm", "5kg": a number with its unit is a number
    if re.fullmatch(r"\d+(?:[.,]\d+)?(?:st|nd|rd|th|e|er|eme|ème|cm|mm|km|m|kg|g|l|ml|h|min|s|x)", core):
        return word
    lead = word[:len(word) - len(word.lstrip("!'’-"))]
    tail = word[len(word.rstrip("!'’-")):]
    return lead + "".join(_LEET.get(c, c) for c in core) + tail


def _join_spaced(text: str) -> str:
    """"k i l l" and "k.i.l.l" -> "kill" (three or more single letters in a row)."""
    return _SPACED.sub(lambda m: re.sub(r"[ .\-_*·]", "", m.group(0)), text)


def clean(text: str) -> str:
    """The question as the embedder should read it: disguises undone, accents and script kept."""
    text = re.sub(r"\s+", " ", _unify(text)).strip()
    text = _expand_sms(_join_spaced(text))
    text = _WORDISH.sub(lambda m: _unleet(m.group(0)), text)
    text = re.sub(r"([a-zà-ÿ])\1{2,}", r"\1\1", text)  # "killllll" -> "kill", "noooo" -> "noo"
    text = re.sub(r"[!?.]{2,}", lambda m: m.group(0)[0], text)
    text = _expand_sms(text)
    if CJK.search(text):
        text = _chinese(text)
    return text


def _expand_sms(text: str) -> str:
    def word(m: re.Match[str]) -> str:
        w = m.group(0)
        return _SMS.get(w, w)

    text = re.sub(r"(?<![\w'])[a-zé0-9]+(?![\w'])", word, text)
    text = _FR_J.sub("je ", _FR_G.sub("j'ai ", _FR_C.sub("c'est ", text)))
    text = _EN_FOR.sub(" for ", _EN_TO.sub(r"\1 to ", text))
    # "j'veux", "j'suis", "m'tuer": the apostrophe a child types for the dropped "e"
    text = re.sub(r"\bj'(veux|vais|suis|peux|sais|me|te)\b", r"je \1", text)
    return re.sub(r"\s+", " ", text).strip()


def squeeze(text: str) -> str:
    """Every run of one repeated letter cut to one letter: "kill" -> "kil", "weed" -> "wed"."""
    return re.sub(r"([a-z])\1+", r"\1", text)


# a run of Chinese characters, or a run of other letters and digits: "把english作业" is 把 / english / 作业
_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[^\W_\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")


def words(text: str) -> list[str]:
    """What the rules read: cleaned, folded, squeezed words, each run of Chinese characters kept whole (no dictionary).

    The Chinese rules are written over characters with bounded gaps ("怎么.{0,6}炸弹"), so they need no segmentation:
    jieba cut the same words differently with the context ("嗑药" / "嗑 药", "中见", "金说"), and its dictionary costs
    each web worker ~60 MB and a second to load.
    """
    folded = squeeze(fold(clean(text)).replace("'", "' "))
    return _RUN.findall(folded)


def rule_text(text: str) -> str:
    """words() joined by single spaces, with a space at each end: the string the rules' regexes run over."""
    return " " + " ".join(words(text)) + " "

"""Safety for children (pure): which questions the companion refuses, the kind words it says instead, output checks.

Rules are phrase patterns in English, French and Simplified Chinese, matched on a normalised question (lower case,
French accents folded, apostrophes unified). They look for an intent ("how do I make a bomb", "do my homework"),
not for single topic words, so that lesson questions about volcanoes, the digestive system or ancient wars still
get answered. Self-harm is checked first: a child in distress gets pointed to a trusted adult whatever else they said.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

LANGUAGES = ("en", "fr", "zh")
CATEGORIES = ("self_harm", "sexual", "violence", "hate", "personal_data", "homework")

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def _word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


_FR_HINTS = _word_set("""
le la les des une est sont que qui quoi pourquoi comment quel quelle quels quelles est-ce dans avec pour
sur du au aux je tu il elle nous vous ils elles mon ma mes ton ta tes son sa ses ce cette ces faire fait
""")
_EN_HINTS = _word_set("""
the a an is are what why how which who does do did can could of in on with to for my your this that it
""")


@dataclass(frozen=True)
class Verdict:
    """The result of checking one question: refused or not, and why."""

    refused: bool
    category: str | None = None
    message: str = ""


def fold(text: str) -> str:
    """Lower case, accents removed, apostrophes and spaces unified: the form the patterns are written for."""
    text = unicodedata.normalize("NFKC", text).replace("’", "'").replace("`", "'").lower()
    decomposed = unicodedata.normalize("NFD", text)
    text = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"\s+", " ", text).strip()


def detect_language(text: str, default: str = "en") -> str:
    """en, fr or zh, from the script and common function words (default when there is nothing to go on)."""
    if _CJK.search(text):
        return "zh"
    tokens = re.findall(r"[a-z'-]+", fold(text))
    fr = sum(t in _FR_HINTS for t in tokens) + 2 * bool(re.search(r"[éèêàçùôîœ]", text.lower()))
    en = sum(t in _EN_HINTS for t in tokens)
    if fr > en:
        return "fr"
    if en > fr:
        return "en"
    return default if default in LANGUAGES else "en"


# --- patterns ---------------------------------------------------------------------------------------------------
# Written against fold(): no accents, lower case. \b does not help for Chinese, so Chinese patterns are substrings.

_PEOPLE_EN = (r"(?:someone|somebody|people|person|him|her|them|my (?:\w+ )?(?:brother|sister|mum|mom|dad|father|mother|"
              r"friend|teacher|classmate|neighbou?r|cousin)|a (?:boy|girl|kid|child|teacher|classmate)|"
              r"(?:the|a|my) (?:teacher|kid|boy|girl|bully|classmate)s?|everyone|anybody|anyone)")
_PEOPLE_FR = (r"(?:quelqu'un|quelqu un|les gens|une personne|lui|mon (?:frere|copain|ami|voisin|cousin|pere|"
              r"prof|professeur|maitre)|ma (?:soeur|copine|amie|voisine|cousine|mere|maitresse|prof)|"
              r"un (?:eleve|enfant|garcon)|une (?:eleve|fille)|tout le monde|mes camarades)")

_RULES: dict[str, dict[str, list[str]]] = {
    "self_harm": {
        "en": [r"\b(?:kill|hurt|harm|cut|stab|hang|poison|starve) (?:myself|my ?self)\b", r"\bsuicid",
               r"\bwant(?:s)? to die\b", r"\bwanna die\b", r"\bend (?:my|it all|my own) ?(?:life)?\b.*\b(?:life|all)\b",
               r"\bend my life\b", r"\bself[- ]harm", r"\bnot (?:want|wanna) to (?:live|be alive)\b",
               r"\bdon'?t want to (?:live|be alive|wake up)\b", r"\bbetter off dead\b", r"\bno reason to live\b"],
        "fr": [r"\bme (?:tuer|suicider|faire du mal|blesser|couper|pendre|mutiler)\b", r"\bsuicid",
               r"\b(?:veux|voudrais|veut|envie de) mourir\b", r"\ben finir avec (?:la|ma) vie\b",
               r"\bne (?:veux|veut) plus vivre\b", r"\bmettre fin a (?:mes|ma) (?:jours|vie)\b",
               r"\bme faire mal\b"],
        "zh": ["自杀", "自殺", "想死", "不想活", "伤害自己", "傷害自己", "割腕", "结束自己的生命", "结束我的生命",
               "活不下去", "轻生", "跳楼", "自残", "弄伤自己"],
    },
    "sexual": {
        "en": [r"\bsex\b(?! (?:of|cells?)\b)", r"\bsexy\b", r"\bsexual(?!(?:ly)? reproduc)", r"\bporn", r"\bnude",
               r"\bnaked (?:pictures?|photos?|girls?|boys?|women|men|people|body|bodies)\b", r"\bhorny\b",
               r"\bmake love\b", r"\bhaving sex\b", r"\bboobs?\b", r"\bpenis\b.*\b(?:touch|show|see|picture)",
               r"\bsend (?:me )?(?:pics|nudes)\b", r"\berotic", r"\bstrip ?tease\b"],
        "fr": [r"\bsexe\b", r"\bsexuel(?:le)?s?\b(?! reproduction)(?!.*reproduction sexuee)", r"\bporno",
               r"\bfaire l'amour\b", r"\b(?:photos?|images?|filles?|femmes?) (?:toute?s? )?nue?s?\b",
               r"\bnue?s? (?:photos?|images?)\b", r"\berotique", r"\bseins nus\b", r"\bcoucher avec\b"],
        "zh": ["色情", "性交", "做爱", "做愛", "裸体", "裸照", "黄色图片", "黄色视频", "性行为", "性爱", "A片", "a片",
               "成人视频", "脱光"],
    },
    "violence": {
        "en": [r"\b(?:make|build|get|buy|craft|create|find|hide|bring)(?: \w+){0,3} (?:a |an |some )?(?:bomb|gun|"
               r"pistol|rifle|explosive|grenade|weapon|molotov|poison|knife to school)s?\b",
               # intent towards people: "how do I hurt...", "to kill someone"; not "why do lions attack people?"
               r"\b(?:how (?:do|can|could|would|to|should) (?:i |you |we )?|to |i |we |gonna |wanna |let's )"
               r"(?:kill|murder|stab|shoot|strangle|poison|beat up|hurt|punch|attack|torture) " + _PEOPLE_EN + r"\b",
               r"\bi (?:want|wanna|am going|'m going|will|'ll) (?:to )?(?:kill|murder|stab|shoot|beat up|hurt|punch)\b",
               r"\bschool shooting\b", r"\bshoot up\b", r"\bblow up (?:the|a|my) (?:school|house|building|class)",
               r"\bbomb (?:the|a|my) (?:school|house|building|class)"],
        "fr": [r"\b(?:fabriquer|faire|construire|acheter|trouver|avoir|cacher)(?: \w+){0,3} (?:une |un |des )?(?:bombe|"
               r"arme|pistolet|fusil|explosif|grenade|poison)s?\b",
               r"\b(?:tuer|assassiner|poignarder|tirer sur|etrangler|empoisonner|frapper|blesser|tabasser|torturer) " +
               _PEOPLE_FR + r"\b",
               r"\bje (?:veux|vais|voudrais) (?:le |la |les |lui )?(?:tuer|frapper|poignarder|tabasser|blesser)\b",
               r"\b(?:faire exploser|attaquer) (?:l'ecole|la classe|le college|la maison)"],
        "zh": ["炸弹", "炸彈", "制造枪", "做枪", "做一把枪", "自制枪", "买枪", "造枪", "杀人", "殺人",
               "杀死我的", "杀了他", "杀了她", "杀掉他", "杀掉她", "捅人", "用刀捅", "打死他", "打死她", "把他打死",
               "毒死他", "毒死她", "怎么伤害别人", "如何伤害别人", "怎么伤害他", "怎么打人",
               "炸学校", "炸掉学校", "制作武器", "做武器", "制造武器"],
    },
    "hate": {
        "en": [r"\bi hate (?:all )?(?:black|white|asian|chinese|african|arab|jewish|muslim|christian|gay|"
               r"disabled|fat|poor|foreign)",
               r"\b(?:black|white|asian|chinese|african|arab|jewish|muslim|christian|gay|disabled|foreign|"
               r"poor) (?:people|kids|children|girls|boys|persons|women|men) (?:are|is) (?:stupid|dumb|bad|evil|"
               r"dirty|lazy|ugly|worse|inferior|animals)",
               r"\bwhy (?:are|is) (?:all )?(?:black|white|asian|chinese|african|arab|jewish|muslim|gay|girls|boys|"
               r"women|men|disabled|fat|poor) (?:people |kids )?(?:so )?(?:stupid|dumb|bad|evil|dirty|lazy|ugly|"
               r"worse|inferior)",
               r"\b(?:girls|boys|women|men) are (?:stupid|dumb|inferior|worse)",
               r"\b(?:racist|sexist|homophobic) (?:jokes?|insults?|words?|names?)\b",
               r"\b(?:insult|insults|mean names?) (?:for|to call) (?:a |an )?(?:black|white|asian|chinese|jewish|"
               r"muslim|gay|disabled|fat)"],
        "fr": [r"\bje (?:deteste|hais) (?:les )?(?:noirs|blancs|arabes|juifs|musulmans|chinois|asiatiques|"
               r"homosexuels|gays|handicapes|etrangers|africains|filles|garcons)",
               r"\b(?:les )?(?:noirs|blancs|arabes|juifs|musulmans|chinois|asiatiques|gays|handicapes|etrangers|"
               r"africains|filles|garcons|femmes) (?:sont|c'est) (?:tous |toutes )?(?:betes|nuls|nulles|stupides|"
               r"mauvais|inferieur|inferieurs|inferieures|sales|paresseux|idiots|idiotes)",
               r"\bpourquoi les (?:noirs|blancs|arabes|juifs|musulmans|chinois|asiatiques|gays|handicapes|etrangers|"
               r"africains|filles|garcons|femmes) sont (?:si )?(?:betes|nuls|nulles|stupides|mauvais|inferieurs|"
               r"sales|paresseux|idiots|idiotes)",
               r"\bblagues? (?:racistes?|sexistes?|homophobes?)\b", r"\binsultes? (?:racistes?|pour les)\b"],
        "zh": ["种族歧视的笑话", "歧视", "低等民族", "劣等", "滚回你的国家", "滚回去", "黑鬼", "支那", "讨厌黑人",
               "讨厌外国人", "女生都很笨", "女生都是笨", "女孩都很笨", "都是垃圾", "骂人的话", "侮辱"],
    },
    "personal_data": {
        # someone's details, not the topic: "why keep my password secret?" is a good lesson question
        "en": [r"\b(?:home )?address (?:of|for)\b",
               r"\bwhere (?:does|do|did) (?:my|our|his|her|the|your) (?:teacher|friend|classmate|neighbou?r|"
               r"headteacher|headmaster|principal|brother|sister|mum|mom|dad|cousin|girlfriend|boyfriend)s?\b.*\blive",
               r"\bwhere (?:does|did) (?:he|she) live\b",
               r"\b(?:phone|telephone|mobile|cell) number (?:of|for)\b",
               r"\b(?:email|e-mail) (?:address )?of\b",
               r"\b(?:\w+'s|his|her|their|your) (?:home |house |email |e-mail |phone |mobile |secret )?"
               r"(?:address|email|phone|password|surname|last name|phone number|pin)\b",
               r"\b(?:the )?(?:teacher|school|computer|wifi|wi-fi|tablet|admin)(?:'s)? password\b",
               r"\b(?:hack|steal|guess|crack|find out)\b.{0,30}\b(?:password|account)",
               r"\bsocial security\b", r"\b(?:id|identity) card number\b", r"\bcredit card number\b",
               r"\bwhere (?:is|are) (?:\w+'s|his|her|their|my teacher's) (?:house|home)\b"],
        "fr": [r"\badresse (?:de|du|d')\b(?! (?:l'ecole|la mairie|la bibliotheque))",
               r"\bou (?:habite|habitent|vit|vivent)(?:-t-(?:il|elle))? (?:mon|ma|mes|ton|ta|tes|son|sa|ses|notre|"
               r"votre|leur|le maitre|la maitresse|le prof|la prof|l'enseignant|le directeur|la directrice)\b",
               r"\bou (?:il|elle) (?:habite|vit)\b",
               r"\bnumero de (?:telephone|portable) (?:de|du|d')", r"\bmot de passe (?:de|du|d')",
               r"\b(?:adresse )?e-?mail de\b", r"\bnumero de (?:sa |la )?carte (?:bancaire|d'identite)\b",
               r"\b(?:pirater|voler|deviner)\b.{0,30}\b(?:mot de passe|compte)",
               r"\bnumero de securite sociale\b"],
        "zh": ["老师住在哪", "他住在哪", "她住在哪", "同学住在哪", "家住在哪", "家在哪里", "家在哪儿",
               "的住址", "的家庭地址", "家的地址", "的电话号码", "电话号码是多少", "的手机号",
               "老师的密码", "他的密码", "她的密码", "妈妈的密码", "爸爸的密码", "密码是多少", "偷密码", "破解密码",
               "的身份证号", "的银行卡", "的邮箱", "的地址"],
    },
    "homework": {
        # doing the work for them; "help me solve the exercise" is what the Socratic hints are for
        "en": [r"\b(?:do|write|finish|complete|solve) (?:all )?(?:of )?(?:my|our|the whole|this whole) "
               r"(?:homework|essay|assignment|worksheet|project|test|exam|exercises?)\b(?! (?:about|mean))",
               r"\b(?:do|write|finish|complete|solve) (?:all )?(?:of )?(?:the|this|these) (?:homework|essay|"
               r"assignment|worksheet|project|test|exam|exercises?)\b.{0,20}\bfor (?:me|us)\b", r"\bsolve all\b",
               r"\b(?:give|tell|send|show) (?:me |us )?(?:all )?(?:of )?the answers\b",
               r"\b(?:answers?|solutions?) (?:to|for) (?:all |the |my )?(?:the )?(?:homework|test|exam|"
               r"worksheet|exercises|quiz)\b",
               r"\bwrite (?:me )?(?:an|a|my) (?:essay|story|report|composition)\b(?! about how)",
               r"\bjust (?:give|tell) me the answer\b", r"\bwhat are the answers\b", r"\bcheat\b"],
        "fr": [r"\b(?:fais|fait|faire|ecris|ecrire|termine|finis|resous) (?:moi |-moi )?(?:tous )?(?:mes|mon|ma|"
               r"nos) (?:devoirs|exercices|redaction|expose|dissertation|controle|examen)\b",
               r"\b(?:fais|ecris|resous)-moi (?:mes|mon|ma|les|mon|une) ",
               r"\b(?:fais|ecris|resous|faire|ecrire) (?:les|ces|tous les) (?:devoirs|exercices)\b.{0,20}\b"
               r"(?:pour moi|a ma place)",
               r"\b(?:donne|dis|donnez|dites)(?:-| )?(?:moi|nous) (?:toutes )?les (?:reponses|solutions|corriges?)\b",
               r"\b(?:les )?reponses (?:de|du|des|aux|a) (?:l'|la |mes |mon |ma )?(?:devoirs?|controles?|exercices|"
               r"examens?|evaluations?|test)\b", r"\btricher\b"],
        "zh": ["帮我写作业", "帮我做作业", "替我写作业", "替我做作业", "写我的作业", "做我的作业", "作业答案",
               "全部答案", "所有答案", "所有的答案", "把答案告诉我", "直接告诉我答案", "帮我写作文", "替我写作文",
               "帮我写一篇作文", "考试答案", "作弊", "抄答案"],
    },
}

_COMPILED = {
    cat: {lang: [re.compile(p) for p in pats] if lang != "zh" else pats for lang, pats in by_lang.items()}
    for cat, by_lang in _RULES.items()
}

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
    "hate": {
        "en": "Everyone deserves respect, whoever they are. I won't say unkind things about people. Would you like to "
              "ask something about your lesson?",
        "fr": "Tout le monde mérite le respect. Je ne dirai pas de choses méchantes sur des personnes. "
              "Veux-tu poser une question sur ta leçon ?",
        "zh": "每个人都值得被尊重。我不会说伤害别人的话。你想问一个关于课程的问题吗？",
    },
    "personal_data": {
        "en": "I can't share or look for private details about anyone, like addresses, phone numbers or passwords. "
              "Keep your own details private too!",
        "fr": "Je ne peux pas chercher ni donner d'informations privées sur quelqu'un, comme une adresse, un numéro "
              "de téléphone ou un mot de passe. Garde aussi les tiennes secrètes !",
        "zh": "我不能查找或分享任何人的私人信息，比如地址、电话号码或密码。也要保护好你自己的信息哦！",
    },
    "homework": {
        "en": "I can't do your work for you, but I can help you learn it! Ask me about one idea from the lesson "
              "and I'll show you where it is explained.",
        "fr": "Je ne peux pas faire ton travail à ta place, mais je peux t'aider à apprendre ! Pose-moi une question "
              "sur une idée de la leçon et je te montrerai où elle est expliquée.",
        "zh": "我不能替你完成作业，但我可以帮你学会！问我课上的一个知识点，我会告诉你课程里哪里讲到了它。",
    },
}


# "Where does Amina live?": a capitalised name (checked on the original text, before lower-casing).
_NAMED_PERSON_LIVES = re.compile(r"\b[Ww]here (?:does|did|do) (?!The\b)[A-Z][a-z]+\b.{0,40}\blive\b|"
                                 r"\b[OoÔ][ùu] (?:habite|vit) (?:[A-Z][a-zéèï]+)")


def _matches(category: str, folded: str, original: str) -> bool:
    rules = _COMPILED[category]
    if category == "personal_data" and _NAMED_PERSON_LIVES.search(original):
        return True
    if any(p.search(folded) for p in rules["en"]) or any(p.search(folded) for p in rules["fr"]):
        return True
    return any(term in original for term in rules["zh"])


def classify(question: str) -> str | None:
    """The unsafe category of a question, or None when it is fine (all languages checked, whatever the page's)."""
    folded = fold(question)
    original = unicodedata.normalize("NFKC", question)
    for category in CATEGORIES:
        if _matches(category, folded, original):
            return category
    return None


def refusal(category: str, language: str) -> str:
    """The kind refusal for a category in a language (English when the language is not one of ours)."""
    return MESSAGES[category].get(language, MESSAGES[category]["en"])


def check_question(question: str, language: str = "en") -> Verdict:
    """Refuse (with a kind message in the question's language, else the page's) or let a question through."""
    category = classify(question)
    if category is None:
        return Verdict(refused=False)
    return Verdict(refused=True, category=category, message=refusal(category, detect_language(question, language)))


# Output filter: generated text must not bring in words a child should not get from the companion, even when the
# question was fine (a tiny model can drift). Single words are enough here: lesson transcripts are checked too.
_OUTPUT_WORDS = re.compile(
    r"\b(?:kill(?:ing|ed)? (?:yourself|myself|someone|people)|suicid\w*|porn\w*|sexy|nude|naked|gun|pistol|rifle|"
    r"bomb|explosive|stupid|idiot|hate you|shut up)\b|(?:自杀|色情|裸体|炸弹|枪支|去死|笨蛋|白痴)")


def unsafe_output(text: str) -> bool:
    """True when generated text should not be shown to a child (then the extractive answer is used)."""
    folded = fold(text)
    return bool(_OUTPUT_WORDS.search(folded) or _OUTPUT_WORDS.search(text)) or classify(text) is not None

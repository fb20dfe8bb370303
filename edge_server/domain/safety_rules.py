"""The safety rules (pure): per category, intents written over normalised words, in English, French and Chinese.

A rule is a short pattern of word slots, matched on safety_normalise.rule_text() (folded, squeezed words; each run of
Chinese characters whole). Slots are separated by spaces:

    kill|hurt|cut        any one of these words          suicid*     a word starting so ("suicide", "suicidal")
    *毒品*               a word containing it             my_self     two words in a row, inside one alternative
    ~                    up to three other words          ~~          up to eight other words
    re:REGEX             a raw regex over the same text, for what slots cannot say (negative look-aheads)
    zh:REGEX             a raw regex over the text with the spaces between Chinese characters taken out, written
                         over characters with bounded gaps ("怎么.{0,6}炸弹"): no dictionary decides what a word is

Four kinds of rules, per category:

- RULES: an intent or a request ("how do I make a bomb", "where can i buy weed", "send photos without clothes"). A
  match refuses, whatever the embedding layer says.
- DISCLOSURES: the child tells of harm done to them ("my uncle touches me", "我爸用皮带抽我"). A match refuses and
  raises the pastoral flag.
- GUARDS: the frames of an ordinary question that sounds close: asking for help against a bully or a stranger ("what
  should I do if someone online asks for a photo"), asking why a character or an animal did something ("why did
  Juliet kill herself", "why do lions kill zebras"), asking why something is harmful ("why is smoking bad"). A guard
  turns a category's RULES match into a TOPIC match; it never silences a disclosure.
- TOPICS: the words of a category without an intent ("overdose", "racism", "vodka"). A topic match refuses only when
  the embedding layer leans to that category too (safety_embedding.TOPIC_MARGIN): "what is an overdose, we saw it in
  health class" is answered, "vodka how much to feel it im 12" is not. With no embedder, a topic never refuses.

Rules look for intents, not for topic words alone, so that "Why do lions kill zebras?", "How does a fire burn?" or
"What is sexual reproduction in plants?" are answered. What rules miss, the embedding layer is there to catch.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

from edge_server.domain.safety_normalise import fold, squeeze

GAP = {"~": r"(?:\S+ ){0,3}", "~~": r"(?:\S+ ){0,8}"}


def _alternative(alt: str) -> str:
    contains_before = alt.startswith("*")
    prefix = alt.endswith("*")
    word = alt.strip("*")
    word = squeeze(fold(word)).replace("_", " ")
    out = re.escape(word).replace(r"\ ", " ")
    if contains_before:
        out = r"\S*" + out
    if prefix:
        out += r"\S*"
    return out


def compile_rule(spec: str) -> re.Pattern[str]:
    """One rule (see the module's docstring) as a regex over rule_text() (zh: rules over its compact form)."""
    if spec.startswith(("re:", "zh:")):
        return re.compile(squeeze(spec[3:]))  # written unsqueezed, like the slots: "kill" reads "kil" here too
    pieces = [" "]
    for part in spec.split():
        if part in GAP:
            pieces.append(GAP[part])
        else:
            pieces.append("(?:" + "|".join(_alternative(a) for a in part.split("|")) + ") ")
    return re.compile("".join(pieces))


def _words(*groups: str) -> str:
    return "|".join(w for g in groups for w in g.split())


def _zh(*groups: str) -> str:
    """Chinese words as a regex alternation (longest first, so that 杀死 is tried before 杀)."""
    words = sorted({w for g in groups for w in g.split()}, key=len, reverse=True)
    return "(?:" + "|".join(words) + ")"


# -- shared word sets -------------------------------------------------------------------------------------------

RELATIVES_EN = ("brother sister bro sis mum mom mommy mummy mam dad daddy father mother parents friend friends bff "
                "teacher classmate neighbour neighbor cousin uncle aunt auntie grandma grandpa granny nan stepdad "
                "stepmum stepmom stepfather stepmother stepbrother stepsister coach babysitter boyfriend girlfriend ex "
                "headteacher headmaster principal")
PERSON_EN = _words("someone somebody anyone anybody everyone people person him her them kid kids child children "
                   "boy boys girl girls classmate classmates teacher teachers bully bullies baby man woman guy dude "
                   "student students pupil pupils", RELATIVES_EN)
RELATIVES_FR = ("frere soeur mere pere maman papa parents ami amie amis pote potes copain copine prof profs professeur "
                "maitre maitresse voisin voisine cousin cousine oncle tante grand_mere grand_pere mamie papi "
                "camarade beau_pere belle_mere demi_frere demi_soeur entraineur directeur directrice")
PERSON_FR = _words("quelqu_un quelqu un qqn lui elle eux gens personne enfant enfants eleve eleves garcon garcons "
                   "fille filles bebe homme femme mec meuf gars gamin gamine petit petite nouveau nouvelle",
                   RELATIVES_FR)
PERSON_ZH = ("他 她 他们 她们 人 别人 同学 老师 班主任 爸爸 妈妈 爸 妈 哥哥 姐姐 弟弟 妹妹 哥 姐 弟 妹 朋友 同桌 邻居 "
             "小孩 孩子 男生 女生 叔叔 阿姨 爷爷 奶奶 继父 后爸 校长 班长 舅舅 表哥 表弟 堂哥 那个人 那个男生 "
             "那个女生 那个同学 那个老师 全班")
GROUPS_EN = _words("black blacks white whites asian asians chinese african africans arab arabs jew jews jewish "
                   "muslim muslims christian christians gay gays lesbian lesbians trans disabled fat poor foreign "
                   "foreigners immigrant immigrants migrant migrants refugee refugees indian indians mexican "
                   "mexicans girls boys women men gypsies gypsy roma autistic deaf blind pakistani pakistanis polish "
                   "hindus hindu religious atheists")
GROUPS_FR = _words("noirs noir noires blancs arabes arabe juifs juif juives musulmans musulmanes musulman chinois "
                   "asiatiques homosexuels homos gays gay lesbiennes handicapes handicapees etrangers etranger "
                   "africains filles garcons femmes hommes immigres migrants refugies gitans roms pauvres gros "
                   "grosses autistes rebeus renois")
INSULT_EN = _words("stupid dumb dumber bad evil dirty lazy ugly worse inferior animals trash rubbish disgusting "
                   "gross idiots idiot useless criminals thieves smelly monkeys weird weirdos freaks losers "
                   "worthless terrorists nasty")
INSULT_FR = _words("betes bete nuls nulles nul stupides mauvais mechants inferieurs inferieures inferieur sales "
                   "paresseux idiots idiotes voleurs dechets debiles moches degoutants degueulasses singes bizarres "
                   "terroristes cons connes")
GROUPS_ZH = ("黑人 白人 外国人 老外 穆斯林 回民 犹太人 同性恋 基佬 残疾人 残废 胖子 女生 男生 女孩 男孩 女人 男人 "
             "农村人 乡下人 外地人 少数民族 日本人 韩国人 印度人 非洲人 河南人 穷人 结巴 智障")
DRUGS_EN = _words("weed marijuana cannabis ganja zaza kush cocaine coke heroin meth crack ecstasy mdma molly lsd "
                  "acid shrooms drugs drug joint joints blunt spliff vape vapes vaping juul cigarette cigarettes cig "
                  "cigs ciggies ciggy cigarets cigar tobacco nicotine snus alcohol beer beers vodka wine booze "
                  "whisky whiskey rum gin tequila cider liquor shots ketamine xanax percs lean edibles poppers dope")
DRUGS_FR = _words("beuh weed shit cannabis drogue* coke cocaine heroine ecstasy md joint* bedo* pet spliff* clope* "
                  "cigarette* tabac puff* vapoteuse* vape* chicha alcool* biere* vodka vin whisky rhum tequila "
                  "pilule* cachet* medocs sirop codeine lean poppers champis")
DRUGS_ZH = ("毒品 大麻 叶子 冰毒 海洛因 可卡因 摇头丸 k粉 K粉 笑气 白粉 止咳水 止咳糖浆 电子烟 香烟 烟 酒 白酒 啤酒 "
            "红酒 洋酒 伏特加 药片 安眠药 白色粉末 药丸 大麻糖 槟榔")
WEAPONS_EN = _words("bomb bombs pipe_bomb gun guns pistol pistols rifle rifles shotgun explosive explosives grenade "
                    "grenades weapon weapons molotov knife knives blade blades machete dagger switchblade "
                    "flick_knife dynamite tnt firearm firearms bullets ammo ammunition crossbow taser pepper_spray "
                    "brass_knuckles knuckle_duster")
WEAPONS_FR = _words("schlass surin lame bombe bombes arme armes pistolet pistolets flingue flingues fusil fusils "
                    "explosif explosifs grenade grenades molotov couteau couteaux cran_d_arret poignard dynamite "
                    "balles taser lacrymo poing_americain")
# what may be killed without anyone being hurt
NOT_VICTIMS_EN = ("themselves themself yourself myself himself herself itself germs germ bacteria virus viruses "
                  "weeds wed weds mold mould mosquito mosquitoes mosquitos fly flies ants ant pests pest time "
                  "boredom plants insects bugs bug lice fleas cockroach cockroaches rats mice zombie zombies monster "
                  "monsters boss bosses dragon ender creeper creepers mobs mob the_dragon the_boss the_germs "
                  "the_bacteria the_virus it_in_the_game character level engine music lights")

# common Chinese surnames: "王芳住在哪" asks where a person lives, "熊猫住在哪" (no surname 熊 here) asks about pandas
SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶"
            "程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟秦邱江尹薛闫段雷侯史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")

SELF = "myself|my_self|meself|me_self|myslf"
P_ZH = _zh(PERSON_ZH)


# -- the rules --------------------------------------------------------------------------------------------------

# "help my friend kill himself", "help her do it", not "help my friend who wants to die"
HELP_TO_HARM_EN = (r" help(?:ing)? (?:(?!who |that |because |cos |wants |says |said |feels |thinks |is |was )\S+ ){1,3}"
                   r"(?:to )?(?:kil|die|end (?:it|his|her|their)|suicide|hurt (?:himself|herself|themselves)|"
                   r"cut (?:himself|herself|themselves)|overdose|do it |go through with it|get pils|find pils)")
# "how do I", "i want to", "best way to": the frames of an ask, before a verb (English)
ASK_EN = (r"(?:how|how do i|how can i|how could i|how would i|how should i|how do you|how to|how 2|ways? to|way of|"
          r"best way|easiest way|quickest way|fastest way|i want to|i wana|i m going to|i am going to|im going to|"
          r"i m gona|gona|going to|i wil|i l|i d|let s|lets|can i|could i|should i|help me|teach me|tel me how to|"
          r"show me how to|i ned to|i have to|we should|we re going to|we wil|i plan to|i m planing to|trying to|"
          r"i wish i could)")
VIOLENT_EN = (r"(?:kil|kils|murder|stab|shot|shoot|strangle|poison|choke|beat up|beat|punch|hurt|hit|slap|kick|atack|"
              r"torture|drown|smother|knock out|knock \S+ out|batter|bash|smash|jump|rob|stab up|cut up|break \S+ "
              r"(?:arm|leg|nose|neck|fingers|jaw))")
NOT_VICTIM = "(?!(?:" + "|".join(squeeze(w.replace("_", " ")) for w in NOT_VICTIMS_EN.split()) + r") )"

RULES: dict[str, list[str]] = {
    "self_harm": [
        # en
        f"kill|kil|hurt|harm|cut|stab|hang|poison|starve|burn|drown|shoot|suffocate|strangle|punish|end|unalive ~ "
        f"{SELF}",
        "suicid*", "self_harm*|selfharm*|self_injur*|self_mutilat*|sewerslide",
        "want|wanna|wish|wished|ready|going|gonna|plan|planning|think_about|thinking_about|deserve ~ to|2 die|be_dead",
        "wish i ~ was|were|could_be|be|am dead|gone|never_born|not_alive|disappear|dissapear",
        "want|wanna ~ to ~ be dead|gone", "i want ~ someone|somebody ~ to kill_me|end_it",
        "end|take|ending|taking ~ my|own life", "end|ending it all|everything", "end_it ~ tonight|today|now|all",
        "don_t|dont|do_not|not|never|no_longer ~ want|wanna|like ~ to live|alive|exist|wake|be_alive|be_here|here",
        "not|don_t|dont|never ~ wake_up|waking_up ~ again|anymore|ever|tomorrow",
        "sleep|asleep|sleeping ~~ never|not|don_t|dont ~ wake|waking|wake_up|to_wake", "sleep ~ forever|for_ever",
        "drink|drank|swallow|eat|take|drinking ~~ bleach|poison|antifreeze|weedkiller|rat_poison ~~ asking_for_me|"
        "for_me|myself|me|i_want|i_m_going|to_die|die|dead",
        "bleach|poison|antifreeze|weedkiller ~~ kill_me|to_die|end_it|asking_for_me|for_myself",
        "better_off dead|without_me", "no reason|point to|in live|living|being_alive",
        "hate|hating my life", "i cut|cutting|scratch|scratching|burn|burning|hurt|hurting ~ my|myself ~ "
        "arm|arms|wrist|wrists|leg|legs|skin|body|self|thigh|thighs|stomach",
        "keep|kept|started ~ cutting|hurting|scratching|burning ~ my|myself",
        "pills|tablets|tablet|medicine|medicines|paracetamol|sleeping ~~ not_wake|never_wake|die|dead|overdose|end_it|"
        "not_to_wake|wake_up|all_be_over|be_over|kill_me|to_die",
        "swallow|swallowed|take|took ~~ every|all|whole ~~ pills|tablets|tablet|medicine|bottle|box",
        "overdose|overdosing|od on ~ pills|tablets|paracetamol|medicine|medicines|sleeping|painkillers|my",
        "overdose myself", "kill|kil|hang|hurt|harm themselves|themself|yourself ~~ without|painless|quick|quickest|"
        "hurting|easiest|pain|best|how", "how|way|ways|easiest|best|quickest|painless|fastest ~ to|can_i|do_i|could_i "
        "die|go",
        "die|dying|death|kill_myself ~ without|no ~ pain|hurting|painful", "painless* death|die|dying|way|method",
        "jump|jumping|throw ~ off|from ~ roof|bridge|building|window|cliff|balcony ~~ die|dead|end|survive|tonight",
        "high|tall ~ enough ~~ survive|die|dead", "wouldn_t|not|never survive ~~ jump|fall|bridge|floor|roof",
        "miss|care ~ me|if ~ i ~ die|died|was_dead|gone|disappeared", "nobody|no_one|noone ~ would ~ miss|notice ~ me",
        "everyone|everybody|they|world|family|people ~~ better|happier ~~ without_me|if_i_was_gone|if_i_were_gone|"
        "if_i_died|if_i_wasn_t_here|if_i_was_not_here|if_i_disappeared",
        "disappear forever", "want_to disappear|vanish ~ forever|for_good",
        "hang|hanging ~ rope|noose|myself", "stop|stopped|stopping eating ~~ disappear|die|dead|works|on_purpose",
        "starve|starving ~ myself|to_death", "long sleeves ~~ marks|cuts|scars|cutting|arm|arms",
        "cut|cuts|cutting ~~ hide|hidden|nobody_knows|no_one_knows|again|deep|deeper",
        "can_t|cant|cannot do_this|go_on|take_it ~ anymore ~~ end|die|over|pills|gone",
        # helping another child to it, or together: never the help-seeking that FOR_SOMEONE_ELSE answers
        "re:" + HELP_TO_HARM_EN,
        "kil|hurt|cut ourselves", "we|both ~ want|wanna|are_going|gonna ~ to ~ die|be_dead|end_it",
        # fr
        "me|m tuer|suicider|pendre|couper|mutiler|scarifier|blesser|noyer|empoisonner|tailler|bruler|jeter|ouvrir "
        "~ veines|bras|poignets|vie|cuisses",
        # "ce devoir va me tuer" is a figure of speech, "je vais me tuer" is not
        "re:(?<! va)(?<! vont)(?<! vas)(?<! allait) (?:me|m) (?:tuer|suicider|pendre|mutiler|scarifier|scarifie|"
        "scarifies) ",
        "me_faire|m_faire|me_fais|me_fait|me_fai du_mal|mal", "suicid*", "foutre|fous|fou en l_air",
        "veux|voudrais|veut|envie|envi|aimerais|pense_a|pense|prefere|prefererais ~ mourir|crever|disparaitre|"
        "etre_mort|etre_morte|plus_etre_la",
        "en finir", "mettre|met fin ~ jours|vie", "plus|pas ~ envie ~ de vivre|vivre",
        "ne ~ veux|veut|voudrais plus|pas vivre|exister|me_reveiller", "veux|voudrais plus vivre|exister",
        "marre de ~ vie|vivre", "fatigue|fatiguee ~ de vivre",
        "mourir|morte|mort sans ~ douleur|souffrir|mal", "comment|facon|moyen|meilleur ~~ mourir|me_tuer|crever|"
        "se_tuer",
        "dormir|m_endormir|endormir|dors ~~ plus_jamais|jamais|pour_toujours|toujours ~~ reveiller|me_reveiller|"
        "reveille|reveil",
        "boit|boire|bois|avale|avaler ~~ javel|poison|mort_aux_rats|desherbant ~~ pour_moi|c_est_pour_moi|mourir|"
        "me_tuer|moi",
        "medicament*|cachet*|pilule*|medoc*|comprime*|somnifere* ~~ pas|plus|jamais ~~ reveiller|reveille|me_reveiller|"
        "se_reveiller", "combien ~~ somnifere*|cachets|pilules|medocs|comprimes ~~ faudrait|suffirait|suffit|faut_il",
        "combien|toute|tous ~~ pilules|cachets|medicaments|comprimes|medocs|doliprane|boite ~~ mourir|mort|"
        "plus_me_reveiller|reveiller|reveille|fin|dormir_pour_toujours",
        "coupe|coupes|coupee|scarifie|griffe|brule ~ bras|poignets|jambes|peau|cuisses", "me couper|scarifier",
        "cacher ~ coupures|cicatrices|bleus|marques", "hide ~ cuts|scars|marks|cutting",
        "meilleure|quelle lame ~~ couper", "sauter ~~ pas_se_rater|mourir|pont|fenetre|etage|toit",
        "quel etage ~~ sauter|mourir|mort", "tout le monde ~~ mieux|heureux ~~ sans_moi",
        "personne ~ va|ne ~ me ~ regretter", "arreter|arrete|plus ~ manger ~~ mourir|disparaitre|jours",
        "mourir ~~ si_on_mange_plus|sans_manger|de_faim ~~ combien|jours",
        # zh
        "zisha|zi_sha|zisa|xiangsi|xiang_si|bu_xiang_huo",
        "zh:自杀|自殺|想死|不想活|活不下去|轻生|自残|割腕|寻死|跳楼|上吊|自尽|结束(?:自己的?|我的)?生命|了结自己",
        "zh:(?:伤害|弄伤|割|划伤|划|惩罚|饿死|打)(?:我)?自己", "zh:(?:不想|不要|不愿意)(?:再)?(?:活|醒来|醒过来|活着|"
        "存在)",
        "zh:(?:安眠药|药片|药|退烧药|止痛药).{0,8}(?:死|醒不过来|不会醒|不醒|永远睡|一直睡)",
        "zh:怎么(?:样|才能)?(?:死|去死)|(?:怎么|怎样|如何).{0,3}死(?:得|才)?.{0,4}(?:不疼|不痛|快|没有痛苦)",
        "zh:(?:怎么|怎样|哪种|什么).{0,2}死(?:法)?(?:最|比较)?(?:不疼|不痛|快|舒服|没有痛苦|痛苦最少)",
        "zh:活着(?:没|好累|太累|真累|有什么意思)|活着.{0,2}没意思|不想再撑|撑不下去|结束(?:这)?一切",
        "zh:(?:手臂|胳膊|手腕|大腿).{0,6}(?:割|划)|(?:割|划).{0,4}(?:手臂|胳膊|手腕|大腿)",
        "zh:(?:抓|挠|掐|咬)(?:自己|我自己)?的?.{0,4}(?:胳膊|手臂|手腕|腿|皮肤).{0,6}(?:流血|出血|破皮|见血)",
        "zh:(?:割|划)(?:得)?(?:深|更深)|(?:割|划).{0,6}(?:不用缝针|缝针|不留疤|不被发现)",
        "zh:(?:安眠药|药片|药).{0,8}(?:几片|多少片|多少颗|几颗).{0,4}(?:才够|够了|会死|就死|够)",
        "zh:(?:药|药片|安眠药).{0,4}(?:全|都)(?:吃|吞)(?:了|掉)|(?:把|将).{0,6}(?:药|药片|安眠药)(?:全|都)(?:吃|吞)",
        "zh:(?:几楼|多高).{0,6}(?:跳|死|活)|跳下去.{0,6}(?:死|不会活|活不了)|(?:窗户|楼顶|天台|桥上?).{0,4}跳下去",
        "zh:(?:饿死|不吃饭).{0,8}(?:自己|多少天|消失)", "zh:(?:我|大家).{0,6}消失(?:了)?.{0,8}(?:开心|更好|没人)",
        "zh:(?:吃|喝)(?:了)?(?:就|会)?.{0,3}(?:不会醒|醒不来|不醒|睡下去不醒)",
        "zh:睡.{0,6}(?:再也不醒|不再醒|永远不醒|醒不过来|别再醒|不要醒)|(?:一觉|永远)睡(?:过去|下去)",
        "zh:(?:喝|吃).{0,3}(?:漂白水|漂白剂|农药|老鼠药|消毒水|毒药).{0,10}(?:我自己|问我|死|我想|我要)",
    ],
    "sexual": [
        # en
        "re: sex (?!of |cels? |organs? (?:of|in) (?:a |the )?(?:flower|plant)s?|education|ed |chromosome|hormone)",
        "re: sexual(?! reproduction| reproduce| selection| maturity| dimorphism| organs? (?:of|in) (?:a |the )?"
        "(?:flower|plant)| health| education| harasment| abuse awarenes)",
        "sexy|sexting|sext|sexts|sexier", "porn*|pornhub|hentai|onlyfans|xvideos", "re: x{1,3} (?:videos?|sites?|"
        "pics?) ",
        "nude|nudes|nudity|nudie*", "naked ~ picture*|photo*|pic|pics|girl*|boy*|women|men|people|body|bodies|video*|"
        "selfie*|ladies|lady|woman|man",
        "horny", "make|making love", "have|having|had sex|it", "boob|boobs|tits|titties", "blowjob*|handjob*|blow_job*",
        "penis|vagina|dick|pussy|cock|willy|privates|private_parts ~ touch*|show*|see|picture*|pic*|suck*|lick*|"
        "look*|photo*|big|size",
        "touch|show|see|suck|lick ~ penis|vagina|dick|pussy|cock|privates|private_parts",
        "erotic*", "strip_tease|striptease|stripper*", "masturbat*|wank*|jerk_off", "orgasm*|cum|cumming",
        "adult video*|site*|film*|movie*|content", "18+|x_rated ~ video*|site*|movie*",
        "x_rated|rated_x|adults_only|18_plus|over_18_version|not_for_kids ~ version|story|stuff|bits|edition",
        "x rated", "version ~~ x_rated|18+|adults_only|uncensored|rude|dirty",
        "dirty|rude|naughty|spicy|steamy|saucy|juicy ~ story|stories|scene|scenes|picture*|video*|movie*|pics|things|"
        "stuff|talk|version|chat|roleplay|role_play|words",
        "kiss ~ tongue|with_tongue", "lose|losing ~ my|virginity", "virgin*",
        "in|to the bed|bedroom ~~ describe|rude|naughty|what_grown_ups_do|what_adults_do|dirty",
        "grown_ups|adults|couples|mum_and_dad|parents ~ do ~ in bed|bedroom", "take|taking their|her|his ~ clothes "
        "off ~~ scene|story|write|describe",
        "pretend|roleplay|act ~~ girlfriend|boyfriend|wife|husband|lover|crush ~~ kiss|naughty|sexy|dirty|hot|"
        "touch|bed|love_you|flirt|undress", "kiss me everywhere|all_over",
        "sexy|naughty|dirty ~ stuff|things ~~ with_me|to_me", "do sexy|naughty stuff",
        "boobs|breasts|bum|butt ~ pic*|picture*|photo*|video*|show", "show|see ~ me ~ boobs|breasts|nipples",
        # fr
        "sexe", "re: sexuel(?:le)?s? (?!reproduction|education)", "porno*", "faire|fait|fais|fai l amour", "a poil",
        "photo*|image*|video*|film* ~ nu|nue|nus|nues|cochon*|sexy|de_cul|hot",
        "nu|nue|nus|nues photo*|image*|video*", "tout|toute|toutes|tous nu|nue|nus|nues",
        "erotique*", "seins|nichons|fesses|zizi|zgeg|teub ~ voir|montre*|photo*|toucher|touche",
        "montre*|voir ~ seins|nichons|fesses|zizi", "coucher avec", "baiser ~ avec|une|un|la|le",
        "masturb*|branler|branle", "bite|zizi|penis|vagin|chatte ~ montr*|touch*|voir|photo*|grosse|taille",
        "suce*|sucer", "film*|site*|video* pour|de ~ adultes|cul", "de cul", "histoire|histoires ~ cochonne*|de_cul|"
        "sexe|coquine*|hot",
        "trucs|choses|mots ~ chauds|cochons|coquins|sales|hot",
        "interdit|interdite|deconseille|deconseillee ~ aux ~ moins ~ de ~ 18|16", "version|histoire|video ~~ adultes|"
        "moins_de_18|plus_de_18|non_censuree|cochonne", "meuf|copine|copain|mec ~~ trucs_chauds|trucs_cochons",
        "pecho ~~ lit|plus_loin|coucher", "plus loin au lit", "scene ~ de ~ sexe|cul|lit", "nudes",
        # zh
        "zh:色情|性交|做爱|做愛|裸体|裸照|黄色(?:的)?(?:图片|视频|网站|小说|故事|电影|书|漫画)|性行为|性爱|A片|a片|"
        "成人(?:视频|网站|电影|片)|黄片|黄网|h网|脱光|一丝不挂|自慰|手淫|色图|啪啪|约炮|色色|涩涩|瑟瑟|搞色情|骚话|"
        "小电影|开房|床戏|激情戏",
        "zh:(?:摸|看|亲|舔).{0,3}(?:胸|下面|私处|屁股|鸡鸡|小鸡鸡|咪咪|奶子)", "zh:(?:胸|屁股|私处|下面).{0,4}(?:照片|"
        "图片|视频|看看)",
        "zh:性是什么感觉|做那种事|上床", "zh:大人.{0,2}(?:的|看的)(?:片|视频|电影)|成人片",
        "zh:(?:没穿|不穿|脱光|脱了)衣服.{0,8}(?:图|照片|视频|故事|美女|女生|男生|女人)",
        "zh:(?:美女|女生|女人|男生).{0,6}(?:没穿|不穿|脱光|脱)衣服", "zh:(?:讲|说|来|写).{0,4}(?:色|黄|骚|下流)",
        "zh:(?:假装|当|做)(?:你是)?(?:我的?)?(?:女朋友|男朋友|老婆|老公).{0,10}(?:亲|摸|说|抱|色|骚)",
        "zh:亲我全身|亲遍|色色的|黄黄的|涩涩的|少儿不宜|18禁|十八禁|限制级|成人版|儿童不宜|未成年不宜",
    ],
    "grooming": [
        # en
        "send|sending|share|take|post|show_him|show_her|show_them ~~ photo*|pic|pics|picture*|selfie*|video*|image* ~~ "
        "without|no|naked|nude|clothes|underwear|pants|body|bra|bikini|undress*|privates|top_off|shirt_off|swimsuit|"
        "disappear*|dissapear*|secret*|never_sees|never_see|don_t_know|dont_know",
        "re: (?:asked|asks|wants|told|tells|said|says|keeps asking) (?:me )?(?:\\S+ ){0,2}to (?:send|show|take|share) ",
        "without|no|off ~ my|any|his|her clothes|clothing|pants|underwear|top|shirt",
        "take|taking ~ my|off_my ~ clothes|top|shirt|pants ~~ camera|webcam|video|call|photo*|pic*|for_him|for_her",
        "older|grown|adult|man|men|guy|stranger|strangers|someone|person|boy|girl|friend|uncle|lady|he|she|bf|"
        "boyfriend|girlfriend ~~ online|internet|game|roblox|minecraft|fortnite|app|chat|tiktok|instagram|snapchat|"
        "snap|discord|whatsapp|met|youtube|twitch ~~ meet|photo*|pic|pics|picture*|secret|address|come_over|visit|"
        "house|send|naked|video_call|alone|gift*|money|private|touch*|pick_me_up|pick_me|collect_me|hotel|flat|"
        "his_place|car|mature|loves_me|love_me|swimsuit|underwear",
        "meet|meeting|see|link_up|hang_out ~~ someone|person|man|guy|stranger|friend|boy|girl|him|her|people|ppl ~~ "
        "met|"
        "know|from ~~ online|internet|game|games|chat|app|roblox|minecraft|fortnite|discord|snapchat|tiktok",
        "meet|link_up|meeting ~~ irl|in_real_life|in_person|real_life ~~ online|internet|game|games|people|friend*",
        "meet ~ stranger*|online_friend*", "online_friend|internet_friend|friend_online ~~ meet|meeting|visit|come",
        "keep|kept ~ it|this|us|our|a|chats|messages ~ secret ~~ from|parents|mum|mom|dad|teacher|anyone|nobody|no_one",
        "not|don_t|dont|never tell ~ my|your ~ parents|mum|mom|dad|teacher|anyone ~~ about|secret|talk|chat|photo*",
        "should|can|could|do i meet|visit|go_to|go_see ~~ man|guy|stranger|someone|person|boy|girl|him|her ~~ "
        "online|internet|met|game|app|chat|alone",
        "gives|gave|give|buys|bought|offers|offered|pay|pays ~ me ~ money|gifts|presents|robux|vbucks|v_bucks|skins|"
        "stuff ~~ photo*|pic*|if|secret|meet",
        "robux|vbucks|v_bucks|skins|gift_card ~~ for ~~ photo*|pic*|picture*|selfie",
        "wants|asked|asks ~ me ~ to ~ meet|come|visit|undress|touch|sit_on|video_call ~~ alone|secret|his|house|car|"
        "without",
        "grown_ups|adults|older_people|strangers|people_i_don_t_know ~~ chat|talk|video ~~ won_t|wont|without|don_t|"
        "parents|secret|tell",
        "chat|talk|video_chat|video_call ~~ with|to ~ grown_ups|adults|strangers|older ~~ without|parents|secret|"
        "don_t_know|dont_know",
        "sites|apps|app|site ~~ kids ~~ talk|chat ~~ adults|strangers", "hide|delete ~~ chats|messages|conversation* "
        "~~ "
        "secret|parents|mum|mom|dad|know|see",
        "hotel|his_house|his_flat|his_place ~~ man|guy|met_online|online", "model agent|scout ~~ pictures|photos",
        "mature ~ for ~ my|age", "parental control*|parental_settings ~~ without|turn_off|get_around|avoid|talk",
        # fr
        "envoyer|envoie|envoye|envoyé|montrer|prendre ~~ photo*|video*|selfie*|image* ~~ nu|nue|nus|nues|"
        "sans|vetement*|habits|culotte|slip|soutien|corps|poil|maillot|efface*|s_effacent|secret|sache|voient|inconnu",
        "sans ~ mes|ses|tes vetements|habits|culotte|slip",
        "monsieur|homme|adulte|inconnu|inconnue|quelqu_un|garcon|mec|personne|ami|amie|pote|copain|grand|gars|"
        "type ~~ internet|ligne|jeu|roblox|minecraft|fortnite|tiktok|snap|snapchat|instagram|insta|discord|appli|"
        "whatsapp ~~ rencontrer|voir|photo*|secret|secrete|adresse|venir|envoyer|chez|seul|seule|cadeau*|chercher|"
        "maillot|culotte|aime|mature|v_bucks|vbucks|robux",
        "rencontrer|voir|retrouver ~~ inconnu|inconnue|quelqu_un|monsieur|homme|mec|personne|ami|gens|gars ~~ internet|"
        "ligne|jeu|connais_pas|roblox|snap|fortnite|minecraft|discord",
        "rencontrer|voir ~~ gens|personnes|amis ~~ en_vrai|irl|dans_la_vraie_vie",
        "garder ~ secret ~~ parents|maman|papa|maitresse|personne", "ne ~ rien ~ dire ~~ parents|maman|papa",
        "pas ~ le ~ dire ~~ parents|maman|papa|mere|pere", "de pas le dire",
        "demande|demander|veut ~ de ~ garder_le_secret|me_deshabiller|se_voir|venir_chez",
        "parler|discuter|tchatter|chatter ~~ adultes|inconnus|vieux|grands ~~ sans|controle_parental|parents|secret",
        "site|appli|application ~~ tchatter|parler|discuter ~~ vieux|adultes|inconnus", "notre|nos secret*|relation "
        "~~ secret*|rien_qu_a_nous", "effacer|supprimer ~~ conv*|messages|discussions ~~ secret|parents|sache",
        # zh
        "zh:不穿衣服|没穿衣服|脱衣服|脱掉衣服|光着身子|私密照|隐私照|裸聊|泳衣照|内衣照|穿内衣.{0,4}拍|穿泳衣.{0,4}拍",
        "zh:(?:网上|网友|陌生人|叔叔|大人|哥哥|男人|男的|游戏里|聊天|抖音|微信|qq|QQ|快手|王者|网恋|网上认识|"
        "游戏里认识)"
        ".{0,10}(?:要|(?<!不)让|叫|约|说|想|给|发|带|接|问).{0,8}"
        "(?:照片|自拍|见面|秘密|保密|地址|视频聊|单独|礼物|皮肤|来找我|他家|接我|去他|带我去|一个人去|拍|家)",
        "zh:(?:网友|陌生人|网上认识|游戏里认识|网恋).{0,10}(?:见面|约|面基|接我|家)",
        "zh:(?:让我|叫我|要我).{0,4}(?:发|拍).{0,6}(?:照片|视频|自拍)",
        "zh:(?<!要)(?<!该)(?:不要|别)(?:告诉|跟|和)(?:我)?(?:爸|妈|父母|老师|家长|别人)",
        "zh:(?:保守|保密).{0,3}秘密|(?:我们|我俩)(?:之间)?的?秘密", "zh:(?:要不要|该不该|可以|"
        "能不能).{0,3}去?见.{0,4}(?:网友|陌生人)",
        "zh:(?:见|面基|约).{0,6}(?:网友|网上|游戏里|陌生人).{0,10}(?:不让|不被|偷偷|瞒|撒谎)",
        "zh:(?:不让|不被|瞒着|偷偷).{0,8}(?:网友|陌生人|不认识的人|大人).{0,6}(?:聊|见|视频|发)",
        "zh:(?:大人|成年人|陌生人|不认识的人).{0,6}(?:聊天|视频|群).{0,10}(?:不让|家长|爸妈|偷偷|不被)",
        "zh:(?:发|传).{0,4}(?:照片|自拍).{0,8}(?:不认识|陌生|网友)|(?:偷偷).{0,4}(?:自拍|照片).{0,4}发",
        "zh:(?:删|删掉|删除).{0,6}聊天记录.{0,10}(?:秘密|不让|爸妈|发现)|聊天记录.{0,6}秘密",
        "zh:自动消失.{0,8}(?:照片|不让)|(?:照片|发).{0,8}自动消失", "zh:(?:和|跟)(?:成年人|大人|陌生人).{0,10}(?:视频|"
        "聊天)",
    ],
}


RULES.update({
    "violence": [
        # en
        f"make|making|build|building|get|buy|craft|create|find|hide|bring|sneak|carry|take|order ~ {WEAPONS_EN}",
        f"re: {ASK_EN} (?:\\S+ ){{0,2}}(?:make|build|get|buy|craft|create|find|hide|bring|sneak|carry|take|order|use) "
        f"(?:\\S+ ){{0,3}}(?:{squeeze(WEAPONS_EN).replace('_', ' ')}) ",
        "bomb|blow_up|explode|shoot_up|attack ~ school|class|classroom|house|building|bus|church|mosque|"
        "temple|teacher|toilets|toilet",
        f"re: {ASK_EN} (?:\\S+ ){{0,2}}{VIOLENT_EN} {NOT_VICTIM}",
        f"re: {VIOLENT_EN} (?:the|my|that|this|our|a|his|her|those|these) (?:\\S+ "
        f")?(?:{squeeze(PERSON_EN).replace('_', ' ')}) "
        "(?:how|so|until|til|til|with|and|tomorow|today|at|after|before|in)? ?",
        f"re: (?:i|we) (?:wil|m going to|am going to|m gona|am gona|want to|wana|plan to|ned to|am planing to|"
        f"re going to|are going to|l) (?:\\S+ )?{VIOLENT_EN} ",
        "school|mass shooting|shooter|shoot_up", "shoot up", "kill|murder|hurt|stab ~ without ~ caught|noticing|"
        "knowing|trace|evidence|finding",
        "hurt|harm|kill|torture|poison|drown|burn ~ a|the|my|our|his|her|next_door_s cat|dog|animal|pet|puppy|kitten|"
        "bird|hamster|rabbit",
        "fight|beat_up|punch|hit|kick ~ someone|kid|boy|girl|younger|him|her ~~ win|hurt|bleed|bleeds|break|cry",
        "poison ~ food|drink|tea|water|lunch ~~ someone|his|her|my|teacher",
        "hit|punch|kick|beat|slap|hurt ~~ without|no|doesn_t ~ leaving|marks|bruises|bruise|trace|shows",
        "punch|hit|choke|strangle|kick|knock ~~ pass_out|faint|knocked_out|unconscious|black_out|bleed|hospital",
        "where|how ~ to|do_you|do_i|should_i ~ punch|hit|kick|stab ~ someone|somebody|people|him|her ~~ so|hurts|"
        "most|pass|knock",
        "put|slip|pour|mix|add ~~ in|into ~ someone*|somebody*|his|her|their|teacher*|sister*|brother*|the ~~ drink|"
        "food|water|tea|lunch|cup|bottle|juice|coffee ~~ sick|ill|die|sleep|pass_out|vomit|poison*|hurt|throw_up",
        "bleach|poison|pills|laxative*|rat_poison ~~ in|into ~~ someone*|somebody*|his|her|their|teacher*|sister*|"
        "brother* ~~ drink|food|water|tea|lunch|cup|bottle",
        "what|which ~~ cleaning|household|kitchen|bathroom ~~ blow*|explode*|boom|bang ~~ mix|mixed|together",
        "blow_up|blows_up|explode*|boom|bang ~~ mix|mixed ~~ asking_for_a_reason|for_a_reason|for_something|"
        "school|toilet*|class*",
        "goes|go|make|makes|something ~ boom|bang|kaboom ~~ school|toilet*|class|scare|bin|how|make|build",
        "need|want ~ to ~ make ~~ boom|bang|explode|blow_up", "pew pew",
        "bring|take|sneak ~~ gun|knife|blade|weapon|knives ~~ school|class|classroom|tomorrow|tmrw|scare",
        "best|which|what|sharpest ~ knife|blade|weapon ~~ scare|stab|school|hurt|kill|bring|carry",
        "knife|blade|gun|weapon ~~ scare|threaten|stab|hurt ~~ someone|him|her|boy|girl|kid|teacher",
        "beat|beat_up|batter|hurt|punch ~~ him|her|them ~~ so|until|til ~~ bleeds|bleed|cries|cry|can_t|cant|hospital",
        "hurt|injure ~~ so_badly|so_bad|badly ~~ can_t|cant|won_t|wont|hospital",
        "revenge ~~ hurt|kill|beat|stab|punch|poison", "molotov", "pipe bomb", "make|making ~ a ~ gun",
        "poison|poisons ~~ works|work|kill|kils|fastest|strongest|deadliest ~~ person|someone|somebody|human|people|"
        "him|her",
        # fr
        f"fabriquer|faire|construire|acheter|trouver|avoir|cacher|ramener|apporter|amener|fabrique|prendre|"
        f"emmener ~~ {WEAPONS_FR}",
        f"tuer|assassiner|poignarder|etrangler|empoisonner|frapper|blesser|tabasser|torturer|cogner|taper|buter|"
        f"defoncer|egorger|planter ~ {PERSON_FR}", "tirer sur ~ quelqu|qqn|lui|elle|gens|prof|eleve*|personnes",
        "je|j|on|jvais|jveux ~ veux|vais|voudrais|va ~ le|la|les|lui ~ tuer|frapper|poignarder|tabasser|blesser|taper|"
        "buter|casser|defoncer|cogner|egorger|planter",
        "comment ~ je|on ~ le|la|les|lui ~ tuer|frapper|poignarder|tabasser|blesser|taper|buter|defoncer|cogner",
        "le|la|les tuer|buter|poignarder|tabasser|defoncer|egorger",
        "faire_exploser|attaquer|bruler ~ ecole|classe|college|maison|toilettes",
        "sans ~ laisser|traces ~ trace*|marque*|bleus", "frapper|taper|cogner ~~ sans ~ trace*|marque*|bleus|voir|"
        "que_ca_laisse", "laisse|laisser pas|aucune ~ de ~ bleus|bleu|trace*|marque*",
        "faire|fais|fait mal ~ chat|chien|animal|chaton", "casser|peter|defoncer|exploser ~ la|sa|ta ~ gueule|figure|"
        "tete",
        "veux|vais|voudrais|comment|faut ~~ faire_du_mal|faire_mal|blesser ~ a|au|aux|la|le|l ~ " + PERSON_FR + "|prof|"
        "maitresse|mec|fille",
        "re: (?:je|on) (?:le |la |les |lui )?(?:tape|frape|cogne|vise) (?:ou|où) ",
        "peter ~ la ~ gueule", "comment|je|on ~~ defonce|tabasse|cogne|bute",
        "tomber dans les pommes|s_evanouir|perdre_connaissance ~~ frapper|taper|etrangler|appuyer|cogner|comment",
        "frapper|taper|cogner|etrangler ~~ tombe|tomber ~~ pommes|evanouir|connaissance",
        "mettre|verser|mets|met|ajouter ~~ dans ~~ verre|boisson|repas|eau|cafe|jus|bouteille|bouffe|nourriture|"
        "assiette|plat|sandwich|gouter ~~ malade|mourir|dormir|vomir|vomisse|vomit|mal|chiasse|diarhee",
        "produits|trucs|choses ~~ explosent|exploser|explose|boum ~~ melange*",
        "javel|poison|produit|medicaments|medocs|laxatif* ~~ dans ~~ verre|boisson|repas|eau|cafe|jus|bouteille|"
        "gouter ~~ malade|mourir|dormir|vomir|mal",
        "melange*|melanger ~~ exploser|explose|explosent|boum ~~ pour|truc|ecole|toilettes",
        "faire peur ~~ couteau|flingue|arme|schlass|lame", "couteau|schlass|flingue|arme ~~ faire_peur|menacer",
        "bombe|b_o_m_b_e ~~ fabriquer|faire|comment|construire", "cocktail molotov",
        # zh
        "zh:(?:制造|制作|做|造|买|自制|弄到|搞到|弄|搞|怎么做|怎么造|哪里).{0,6}(?:炸弹|炸药|土炸弹|燃烧瓶|雷管|"
        "手枪|步枪|猎枪|弓弩|管制刀具|弹簧刀|匕首|砍刀|武器|(?<!水)枪(?!战游戏))",
        "zh:(?:炸弹|炸药|燃烧瓶|枪).{0,4}(?:怎么|如何)(?:做|造|制作|弄)",
        "zh:(?:带|拿|藏|揣)(?:着|把)?.{0,4}(?:刀|枪|匕首|武器|棍子).{0,8}(?:学校|班上|教室|吓|上学|去找)",
        "zh:(?:什么|哪种|哪把)(?:刀|枪|武器).{0,8}(?:吓|捅|砍|杀|学校)",
        f"zh:杀人|殺人|捅人|砍人|(?:杀|殺|杀死|杀掉|弄死|打死|捅死|毒死|砍死|砍|捅|刺|掐死|打残|打断|干掉|做掉)"
        f"(?:了|掉)?(?:那个|这个|我的|我)?{P_ZH}",
        "zh:(?:打|揍|踢|掐|捅).{0,8}(?:晕过去|晕倒|昏过去|昏迷|出血|流血|最疼|最痛|骨折|残废|住院|进医院|淤青|伤痕|"
        "不留|看不出)",
        "zh:(?:打|揍|踢|掐)(?:哪里|哪儿).{0,6}(?:晕|疼|痛|死)",
        "zh:(?:用什么|拿什么).{0,2}打.{0,8}(?:不会|不留|看不出)",
        "zh:(?:水|杯|饮料|饭|菜|汤|奶茶|果汁|水杯|可乐|零食|便当).{0,8}(?:放|加|下|倒|掺).{0,8}(?:生病|生大病|拉肚子|"
        "中毒|死|晕|难受|睡着|病|吐|呕吐|拉稀)",
        "zh:下毒|投毒|毒死|毒药.{0,6}(?:人|最快|致命|死)|(?:什么|哪种)毒.{0,4}(?:对人|最快|能毒)", "zh:(?:家里|厨房|"
        "清洁|洗衣|洗厕所|"
        "消毒).{0,12}混.{0,6}(?:爆炸|炸|有毒气)",
        "zh:混在一起.{0,4}(?:会)?爆炸.{0,4}(?:有用|我要|我想|试|弄)",
        "zh:约架|(?:伤害|打伤|揍|打|报复).{0,4}" + P_ZH + ".{0,8}(?:不被|不留|最疼|怎么|出血|流血|晕)",
        "zh:(?:怎么|怎样|如何|想|要).{0,3}(?:伤害|打伤|揍|杀|弄死|捅|砍|报复).{0,3}" + P_ZH,
        "zh:炸(?:掉|毁|了)?.{0,4}(?:学校|教室|厕所|班)", "zh:(?:虐待|伤害|弄死|虐|杀死|毒死).{0,4}(?:猫|狗|小动物|"
        "动物|宠物)",
        "zh:(?:开枪|扫射).{0,6}(?:学校|同学|老师|人)|(?:学校|班上).{0,6}(?:开枪|扫射)",
        "zh:(?:买|哪里|哪儿|哪能|去哪).{0,6}(?:弹簧刀|管制刀具|匕首|枪|砍刀)",
        "zh:(?:我要|我想|我会|我得).{0,3}(?:杀|弄死|砍|捅|干掉)",
        "zh:(?:我想|我要|我会|怎么|想|如何).{0,2}(?:弄伤|伤害|打伤|弄疼|弄死|揍|教训|报复|整死|"
        "打残).{0,10}" + P_ZH, "zh:biu|砰砰砰",
    ],
    "drugs": [
        # en
        # an intent ("where can i buy", "i want to try"), not the topic: "why shouldn't children drink alcohol?"
        f"how|where|can_i|could_i|should_i|i|we|to|wanna|lets|let_s|help_me|best|easiest ~ buy|get|find|sell|smoke|"
        f"try|take|make|grow|use|snort|inject|score|order|sneak|drink|steal|afford|roll|hide|vape|sniff ~ {DRUGS_EN}",
        f"where|how ~~ {DRUGS_EN} ~~ buy|get|find|sell|near|without|underage|kid|under_18|hide",
        "re: (?:get|getting|be|feel|got|gets) (?:\\S+ )?(?:high|stoned|drunk|wasted|tipsy|buzzed|floaty|hammered|"
        "trashed|fucked up|messed up) (?!marks |scores |grades |score |points |up |enough |in |on the |and |or )",
        "sniff|huff|huffing ~~ glue|gas|paint|markers|deodorant|aerosol|feel|floaty|high|lighter|petrol",
        "drugs ~ near|at|to|in school", f"{DRUGS_EN} ~ cheap|price|cost|costs|sell*|deliver*|near_me",
        f"cheap|cheapest ~ {DRUGS_EN}", "dealer|dealers ~~ find|near|school|where",
        "too_young|underage|under_18|kid|i_m_1* ~~ buy|get ~~ alcohol|beer|cigarettes|vape|drinks|wine|vodka",
        f"{DRUGS_EN} ~~ i_m|i_am|im|at ~ 9|10|11|12|13|14|15|nine|ten|eleven|twelve|thirteen",
        f"{DRUGS_EN} ~~ without ~ coughing|id|checking|parents|mum|mom|dad|getting_caught|them_knowing|knowing",
        "smoke|vape ~~ without ~ coughing|choking|getting_caught|parents", "roll|rolling ~ a ~ joint|blunt|spliff",
        "white|brown powder ~~ try|sleepover|party|snort|what_happens|sniff|take",
        "pills|tablets|xanax ~~ energy_drink*|red_bull|redbull|party|stay_up|high|buzz|feel_good|sleepover|"
        "stay_awake|for_fun|fun|trip",
        "how_much|how_many ~~ vodka|beer|beers|wine|alcohol|shots|cough_syrup|syrup|pills ~~ drunk|high|feel|buzz",
        "cough syrup|medicine ~~ high|drunk|feel|trip|buzz", "vape|vapes|vaping ~~ flavour*|flavor*|best|taste|kids|"
        "get_one|buy|where", "shop|shops|store ~~ sells|sell ~~ without|kids|underage|id",
        "edibles|weed|beer|vodka|cigs|cigarettes|vapes ~~ snapchat|instagram|online|tiktok|off",
        # fr
        f"comment|ou|je|j|on|veux|peux|vais|pour|aide_moi|combien|les|ils|elles|ados|enfants ~ achet*|trouv*|fum*|"
        f"avoir|prend*|gout*|essay*|test*|vend*|boire|boiv*|procur*|piqu*|roul*|cach*|sniff*|chop* ~ {DRUGS_FR}",
        f"fabriquer|faire|cultiver|fabrique ~~ {DRUGS_FR} ~~ maison|chez_moi|moi_meme|soi_meme|nous_meme",
        "me|se|te droguer|defoncer", f"{DRUGS_FR} ~ pas_cher|pas_chere|prix|combien|vend*|livr*",
        "etre|etre_completement|devenir ~ bourre|bourree|saoul|soul|defonce|defoncee|pete|stone|arrache|perche",
        "planer|tiser|picoler", "dealer|dealeur|dealers|dileur ~~ trouver|ou|ecole",
        f"ou|comment ~~ {DRUGS_FR} ~~ achet*|trouv*|procur*|ecole|mineur*|ans|snap|cach*",
        f"{DRUGS_FR} ~~ mineur|mineurs|sans_carte|sans_papiers|quand_on_a|a_mon_age",
        "fumer|fume|clope|clopes|cigarette ~~ sans ~ tousser", "a 9|10|11|12|13|14 ans ~~ acheter|trouver|vapoteuse|"
        "puff|clope*|alcool|biere|vodka", f"{DRUGS_FR} ~~ 9|10|11|12|13|14 ans",
        "sniffer|renifler ~~ colle|gaz|feutre*|deo|planer|maison", "poudre blanche ~~ essaie|essayer|tester|soiree|"
        "prendre",
        "cachets|medocs|pilules ~~ redbull|red_bull|teuf|soiree|fete|tester|planer|eveille|rigoler|delire|kiffer",
        "vend|vendent ~~ clopes|cigarettes|alcool|biere ~~ mineurs|enfants|sans",
        # zh
        "zh:(?:买|弄到|搞到|哪里|哪儿|哪有|哪能|卖|尝|试试|试一下|试|种|制作|怎么(?!拒绝|戒|不|避免|防止|远离|劝)|想|"
        "偷偷|藏)"
        ".{0,8}(?:毒品|大麻|叶子|冰毒|海洛因|可卡因|摇头丸|k粉|笑气|白粉|电子烟|香烟|(?<!二手)(?<!炊)(?<!油)烟(?!花|"
        "雾|囱|火|头|台|灰|民)|"
        "(?<!料|米)酒(?!精|店|席|窝)|白酒|啤酒|大麻糖|止咳水)",
        "zh:嗑药|买烟|(?:怎么|想|偷偷|教我|我要|试试).{0,3}(?:吸毒|喝醉|灌醉|抽烟|吸烟|喝酒)",
        "zh:(?:毒品|大麻|烟|酒|电子烟).{0,6}(?:哪里|哪儿|买|卖|便宜|藏)",
        "zh:(?:抽烟|吸烟|抽电子烟).{0,6}(?:不咳嗽|不呛|不被发现|不让)", "zh:(?:喝|吃|抽|闻).{0,8}(?:high|嗨|飘|醉|"
        "上头)",
        "zh:(?:喝多少|喝几|吃几|吃多少).{0,8}(?:醉|high|嗨|飘)", "zh:(?:闻|吸).{0,4}(?:了)?(?:会|能)?(?:飘|嗨|high)",
        "zh:白色粉末.{0,10}(?:试|尝|吸|派对)", "zh:(?:药片|药丸|安眠药|止咳).{0,6}(?:红牛|派对|嗨|high|飘|一起吃)",
        "zh:(?:吃|嗑)(?:什么|哪种)药.{0,6}(?:不睡|嗨|high|飘|好玩|兴奋)|(?:搞到|弄到|买到).{0,6}(?:药|药片|药丸)",
        "zh:(?:抽|吸|嗑|卷|试)(?:大麻|叶子|毒品|冰毒|k粉|K粉|摇头丸)",
        "zh:(?:嗨|high|飘|醉)了?是什么感觉.{0,8}(?:想试|试试|我也想)|(?:想试试|想尝尝).{0,4}(?:嗨|high|飘|醉)",
        "zh:(?:电子烟|烟|大麻|叶子).{0,4}(?:吸|抽)(?:几口|多少口|一口).{0,6}(?:晕|飘|嗨|high|感觉)",
        "zh:(?:卖烟|卖酒).{0,4}(?:给)?(?:小学生|小孩|未成年|学生)|(?:小学生|未成年|\\d+岁).{0,6}(?:买|"
        "能买).{0,4}(?:烟|酒|电子烟)",
        "zh:(?:\\d+|十\\S?)岁.{0,8}(?:哪|买|能).{0,6}(?:烟|酒|电子烟)|(?:我|才)\\d+岁.{0,4}(?:喝|醉)",
        "zh:(?:大麻|叶子|烟).{0,4}(?:怎么卷|卷)|(?:藏|收).{0,4}(?:叶子|大麻|烟|电子烟)|叶子.{0,6}(?:藏|抽|买)",
    ],
})


RULES.update({
    "hate": [
        # en
        f"i hate|h8 ~ all|every|those|the ~ {GROUPS_EN}", f"i hate|h8 {GROUPS_EN}",
        f"{GROUPS_EN} ~ people|kids|children|girls|boys|persons|women|men ~ are|is|r ~ {INSULT_EN}",
        f"{GROUPS_EN} are|r|is ~ so|all|always|just|really|more ~ {INSULT_EN}", f"{GROUPS_EN} are|r {INSULT_EN}",
        f"why|how_come are|r|is|do ~ {GROUPS_EN} ~ {INSULT_EN}|smell|stink",
        f"{GROUPS_EN} ~ dumber|stupider|worse|smellier|lazier ~ than", "dumber|stupider|worse ~ than ~ boys|girls",
        f"{GROUPS_EN} ~ kids|people|children|girls|boys|ones ~ smell|stink|smells|stinks|are_smelly",
        f"saying|says|say|that|about_how ~ {GROUPS_EN} ~~ {INSULT_EN}|smell|stink",
        "racist|sexist|homophobic|transphobic|antisemitic ~ joke*|insult*|word*|name*|slur*|meme*|song|poem|thing*",
        "say|tell|write|make ~~ something|anything|stuff|things ~ racist|sexist|homophobic|mean_about",
        "slur|slurs|n_word|faggot*|retards|retarded|spastic|tranny",
        "insult|insults|mean_names|names|words|bad_words|jokes|joke|nicknames|nickname ~~ for|to_call|about ~ a|an|the|"
        "some ~ " + GROUPS_EN + "|kid|boy|girl|child",
        f"joke|jokes|meme|memes|song|poem|post|story ~~ about ~~ {GROUPS_EN} ~~ people|kids|are|weird|stupid|dumb",
        f"mean|nasty|hurtful|racist ~ joke|jokes|song|poem|post|story ~~ about|on ~~ {GROUPS_EN}",
        "insult|humiliate|bully|tease|mock|make_fun_of|roast|embarrass|exclude|shame|laugh_at|pick_on|troll ~ " +
        PERSON_EN + "|fat|ugly|disabled|new_kid|new_girl|new_boy|weird_kid|a|the|that|this|his|her|sam|kid|poor",
        "how ~ to|do_i|can_i|could_i|should_i ~ bully|insult|humiliate|tease|roast|exclude|embarrass|troll",
        "mean|hurtful|nasty|worst|rude|cruel|savage|brutal ~ thing*|word*|name*|nickname*|joke*|insult*|roast*|"
        "comeback*|message* ~~ say|call|tell|about|to|for|send",
        "go|goes|send_him|send_her|sends ~ back to ~ his|her|their|your ~ own ~ country",
        "should|must|ought ~ die|be_killed|be_banned|leave|not_be_allowed ~~ " + GROUPS_EN,
        f"{GROUPS_EN} ~~ shouldn_t|should_not|not ~ be_allowed|allowed",
        "everyone ~ hate* ~ " + PERSON_EN,
        "make|get ~ everyone|whole_class|the_class|the_others|all_my_friends|everybody ~~ laugh*|ignore|hate|"
        "stop_talking|stop_talking_to|leave_out",
        "so|that|til|until ~ everyone|everybody|the_whole_class|whole_class|the_class ~ laughs|laugh|hates|ignores",
        "make|made ~ the|that|this|a ~ new|fat|weird|quiet|poor ~~ cry|cries|crying|sad|leave",
        "make|made ~ " + PERSON_EN + " ~ cry", "make ~~ cry ~ at|in ~ lunch|school|class|break|front",
        "meme|memes|video|post|tiktok ~~ of|about ~~ accent|weight|face|teeth|glasses|hair|clothes ~~ laugh|funny|"
        "group|chat|everyone",
        "post|share|send|put ~~ embarrassing|embarasing|ugly|funny|bad ~ photo*|picture*|pic*|video* ~~ laugh*|"
        "everyone|"
        "class|group|of_him|of_her",
        "group chat|groupchat ~~ without|exclude|laugh|make_fun|roast|against", "fat|ugly ~ kid|girl|boy ~~ roast|"
        "insult",
        "roast ~ a|the|my ~ fat|ugly|weird|poor|disabled|gay",
        "song|poem|story|rap ~~ about_how|that_says ~~ weird|stupid|ugly|disgusting|smell",
        "say ~~ to ~ the ~ refugee|immigrant|foreign|new|black|gay ~ boy|girl|kid|child",
        # fr
        f"je|j ~ deteste|hais|haine ~ les|tous_les|toutes_les ~ {GROUPS_FR}",
        f"{GROUPS_FR} ~ sont|c_est|c est ~ tous|toutes|trop|vraiment|si|plus ~ {INSULT_FR}",
        f"{GROUPS_FR} sont {INSULT_FR}", f"pourquoi ~ {GROUPS_FR} ~ sont ~ {INSULT_FR}",
        f"{GROUPS_FR} ~ plus ~ betes|bete|nuls|nulles|stupides|debiles ~ que",
        "blague*|insulte*|mot*|surnom*|chanson|poeme|truc ~ raciste*|sexiste*|homophobe*|mechant*|mechante*",
        f"blague*|insulte*|surnom*|chanson|poeme|message|moqu* ~~ sur|pour|contre ~~ {GROUPS_FR}",
        "re:(?<! m)(?<! me)(?<! nous)(?<! se) (?:insulte\\S*|humilier|harceler|moquer|ridiculiser|clash\\S*|vaner|"
        "afficher|affiche|clasher) (?:\\S+ )?(?:" + squeeze(PERSON_FR).replace("_", " ") + "|gros|grose|handicape\\S*|"
        "nouveau|nouvele) ",
        "comment ~ harceler|humilier|insulter|moquer|ridiculiser|clasher|afficher|vanner", "retourne|retournez|rentre|"
        "rentrer|retourner ~ dans ~ ton|son|votre|leur pays",
        "dire ~ de_mechant|mechancete*|des_mechancetes", "message|texte ~ mechant|mechants|mechante",
        "toute_la_classe|tout_le_monde|les_autres ~~ rigole|rigolent|se_moque|se_moquent|moque|ignore|ignorent|"
        "deteste|se_foute|foute|se_fout|parle_plus|lui_parle_plus",
        "se moquer de ~ " + PERSON_FR, "faire pleurer ~ " + PERSON_FR + "|la|le", "faire ~ pleurer",
        "plus personne ~~ parle|parler|joue", "groupe ~~ snap|whatsapp|insta ~~ clasher|moquer|sans_elle|sans_lui|"
        "contre", "photo|video ~ genante|moche ~~ poster|classe|tout_le_monde|rigoler|foute",
        "negro|negre|bougnoule|pd|tarlouze|mongol|gogol|triso*|bamboula|sale_arabe|sale_noir|sale_juif",
        "chanson|poeme|texte ~~ qui_dit|pour_dire ~~ bizarres|nuls|betes|moches|sales",
        # zh
        "zh:种族歧视的?(?:笑话|话|段子|梗)|歧视.{0,4}(?:的)?(?:笑话|话|段子)|低等民族|劣等|滚回|黑鬼|支那|娘娘腔|"
        "死胖子|"
        "残废|弱智|智障|脑残|死基佬|二椅子|黑蛆",
        "zh:(?:讨厌|恨|看不起).{0,3}(?:所有)?(?:的)?" + _zh(GROUPS_ZH),
        "zh:" + _zh(GROUPS_ZH) + ".{0,4}(?:都|就是|全是|天生|比).{0,4}(?:笨|蠢|垃圾|低等|脏|懒|丑|坏|傻|恶心|怪|差|"
        "不如)",
        "zh:为什么" + _zh(GROUPS_ZH) + ".{0,4}(?:都是坏人|都很坏|很恶心|都很笨|都笨|都蠢|很脏|很怪|都是小偷)",
        "zh:(?<!被)(?:骂|羞辱|侮辱|嘲笑|欺负|孤立|霸凌|取笑|怼|笑话|捉弄|排挤|挖苦)(?:一下)?(?:那个|这个)?"
        "(?:" + "|".join(PERSON_ZH.split()) + "|胖|残疾|新来|小胖|结巴|[" + SURNAMES + "]\\S)",
        "zh:(?:让|叫|要)(?:全班|大家|所有人|同学们|班上的人|别人).{0,6}(?:笑|嘲笑|骂|孤立|不理|讨厌|不跟.{0,4}说话|"
        "不和.{0,4}玩)",
        "zh:丑照", "zh:(?:外号|绰号|难听的名字).{0,6}(?:嘲笑|笑|骂|气)|(?:起|想).{0,4}(?:难听|嘲笑).{0,4}(?:外号|绰号)",
        "zh:(?:想|起|给).{0,6}(?:外号|绰号).{0,4}(?:嘲笑|笑他|笑她|骂)",
        "zh:(?:说|写|骂|想|给|帮我|起|编|教我|告诉我).{0,6}(?:难听|伤人|恶毒|最狠|狠)的?.{0,2}(?:话|绰号|外号|名字|词)",
        "zh:骂人的?(?:话|词)|脏话|(?:骂|怼).{0,4}(?:他|她|人)的?(?:词|话)", "zh:(?:建|拉).{0,3}群.{0,8}(?:骂|怼|嘲笑|"
        "孤立|不让)",
        "zh:(?:不让|别让)(?:他|她|\\S{1,3}).{0,2}(?:进群|加入|玩|进来)", "zh:(?:滚回|赶回).{0,3}(?:老家|国|家乡)",
        "zh:(?:笑话|段子|歌|诗|帖子|文案).{0,8}(?:嘲笑|笑话|骂|黑人|残疾人|同性恋|穆斯林|外地人|胖)",
        "zh:(?:嘲笑|骂|笑话|歧视).{0,6}(?:黑人|残疾人|同性恋|穆斯林|外地人|外国人|农村|乡下)",
        "zh:(?:发|传).{0,6}(?:班群|群里|网上).{0,8}(?:笑|丑|嘲笑)", "zh:(?<![a-z])(?:sb|nmsl|cnm)(?![a-z])|傻逼|傻b",
        "zh:(?:对|跟|给|骂).{0,8}说(?:什么|啥).{0,4}(?:最伤人|最难听|伤人|难听|最狠)|说(?:什么|啥)(?:话)?(?:最伤人|"
        "最难听|能气哭)",
        "zh:" + _zh(GROUPS_ZH) + ".{0,3}为什么(?:那么|这么|都|总是)?(?:怪|笨|脏|臭|懒|坏|恶心|蠢)|"
        "(?:中国人|外地人|农村人|黑人|穷人|穷孩子).{0,4}(?:都|很|那么|这么)(?:臭|脏|怪|笨|懒)",
        "zh:怎么(?:才能)?(?:让|把|弄).{0,14}(?:哭|难堪|出丑)",
    ],
})


RULES.update({
    "crime": [
        # en
        "steal|stealing|shoplift*|rob|robbing|pickpocket*|nick|pinch|swipe|nicking ~~ from|money|phone|candy|sweets|"
        "bike|wallet|purse|shop|store|without|things|stuff|it|something|car|clothes|games|office|tablet|ipad|food",
        "how|way|ways|can_i|could_i|should_i|want_to|gonna|best_way|easiest_way|i_l|i_m ~ steal|rob|shoplift|burgle|"
        "break_into|mug|nick|pickpocket", "to|2 steal|rob|shoplift|burgle|mug|pickpocket",
        "without ~ getting|being|anyone|them|mum|mom|dad|teacher|her|him|the_cameras|cameras|security|the_shop ~ "
        "caught|"
        "notic*|knowing|seeing|seen|finding_out|sees|see|spotting",
        "set|setting|light|lighting ~~ on_fire|alight|ablaze",
        "set|setting ~ fire ~ to|on", "on fire ~~ school|house|car|shop|building|class*|bin|bins|forest|shed|woods",
        "burn|burning|burnt ~ down ~ school|house|car|shop|building|class*|shed|garage|bins",
        "burn|burning the|a|my|our|his|her school|house|car|shop|building|classroom|shed|garage|bins|bin",
        "start|make|light ~ a|fire ~~ school|house|class*|forest|woods|building|car|bin|shop|shed|accident",
        "hack|hacking|hacked|crack|break_into|get_into|log_into|into|hak ~~ account|instagram|snapchat|tiktok|wifi|"
        "wi_fi|system|computer|grades|grade|marks|email|phone|ipad|tablet|insta|password|pasword",
        "change ~ my ~ grade|grades|marks|mark|score|scores|report",
        "get|break ~ into ~ my|his|her|someone*|somebody*|the|a ~~ account|instagram|insta|snapchat|email|phone|"
        "tiktok|locker|house|shed|garage|car",
        "pirater|hacker|cracker ~~ compte|wifi|ordinateur|ordi|note|notes|systeme|insta|snap|telephone|portable",
        "zh:(?:黑进|hei进|盗号|破解|入侵|登上|登进|偷登|黑了).{0,8}(?:账号|帐号|微信|qq|QQ|系统|电脑|wifi|WiFi|成绩|"
        "号|密码)|"
        "改.{0,2}(?:分数|成绩)",
        "arson*", "look|looks|seem ~ like ~ an accident|accident", "break|breaking|broke into|in ~~ house|car|shop|"
        "school|store|home|locker|shed|garage",
        "pick|open ~ lock|locks|padlock", "lockpick*", "hotwire|hot_wire",
        "vandali*|graffiti", "spray|spraypaint|spray_paint|smash|break|wreck|key|scratch ~~ school|window*|car*|bus|"
        "wall*|toilet*|property", "counterfeit|fake_money|forge|forged|fake_signature|copy_signature",
        "take|taking|took ~ money|cash ~ from ~ wallet|purse|bag|mum|mom|dad|parents|teacher|shop|her|his",
        "drawer|desk|locker|office|cupboard|filing ~~ take|steal|get|nick|see ~~ test|exam|answers|papers|paper|sheets",
        "get|break|sneak ~ into ~ the|a|my ~ teacher*|teacher_s|principal*|head* ~ drawer|desk|office|locker|car",
        "sneak|get ~ into|in ~ cinema|movie|concert|bus|train ~ without|for_free ~ paying|ticket",
        "cheat|scam|trick ~ old|people|someone ~ money", "scam*",
        "shop|shops|store|stores|supermarket* ~~ easiest|easy|best|easier ~~ steal|rob|shoplift|nick",
        "easiest|easy|best ~~ steal|rob|shoplift|nick ~ from",
        "faint|fainting|pass_out|passing_out|blackout|choke|choking ~~ challenge|game|dare", "alarm|security tag|tags "
        "~~ get_off|remove|take_off|"
        "on|out", "shoplift*",
        "choking|blackout|pass_out|fainting game|challenge", "hold ~~ breath|it ~~ pass_out|faint|black_out",
        "dare|challenge ~~ lighter|deodorant|aerosol|spray|fire|lighter_fluid",
        "lighter|fire ~~ deodorant|aerosol|spray|body_spray|hairspray", "deodorant|aerosol|spray ~~ lighter|flame|fire",
        # fr
        "voler|piquer|chiper|braquer|cambrioler|voler_a|derober|chourer|chouraver|taxer ~~ magasin|argent|telephone|"
        "portable|sac|velo|porte_monnaie|portefeuille|bonbons|voiture|quelqu|sans|maison|boutique|fringues|sous|"
        "carrefour|supermarche",
        "comment|veux|vais|peut|peux ~ voler|braquer|cambrioler|piquer|chiper|chourer|chouraver",
        "sans ~ se ~ faire ~ prendre|attraper|voir|choper|remarquer|gauler", "sans que ~ personne|on|elle|il|ma_mere|"
        "mon_pere ~ voie|remarque|sache|voit",
        "mettre|mis|met ~ le_feu|feu ~~ ecole|maison|voiture|classe|poubelle*|foret|magasin|college|cabanon|garage",
        "bruler|cramer ~ ecole|maison|voiture|classe|magasin|cabanon|poubelle*|le|la",
        "allume|allumer ~ feu ~~ foret|bois|ecole|maison|accident",
        "fasse|fait|ressemble|air ~ accident", "air d un accident", "incendier", "effraction",
        "crocheter|forcer ~ serrure|cadenas|porte|voiture|casier", "rentrer ~ dans ~ garage|maison|cabanon|compte",
        "tagger|taguer|casser|saccager|rayer ~~ ecole|mur|vitre*|voiture*|toilettes", "faux billets|fausse_signature",
        "imiter ~ signature", "prendre|piquer ~ argent|sous|billets ~~ porte_monnaie|sac|portefeuille",
        "sortir ~~ fringues|vetements|habits|trucs ~~ antivol|magasin",
        "antivol ~~ enlever|retirer|sortir|passer", "jeu du foulard|jeu_de_l_evanouissement|jeu de la tomate",
        "defi ~~ briquet|deo|deodorant|aerosol|feu|allumette*|laque", "briquet|allumette* ~~ deo|deodorant|aerosol|"
        "spray|bombe|laque",
        "tiroir|bureau|casier|armoire ~~ prendre|voler|piquer|voir ~~ sujets|sujet|controle|reponses|copies|examen",
        "dare|challenge ~~ matches|match|lighter ~~ hairspray|deodorant|spray|aerosol",
        "matches|lighter ~~ hairspray|deodorant|aerosol|body_spray",
        "magasin*|boutique*|supermarche* ~~ facile|facilement|mieux ~~ voler|piquer|chourer",
        "defi|challenge|jeu ~~ evanouit|evanouir|s_evanouit|pommes|etouffe*|respire_plus|respirer",
        "rentrer|entrer ~ dans ~ le ~ compte|insta|snap",
        # zh
        "zh:(?:怎么|怎样|如何|想|教我|去|帮我|我要|要|能不能|可以)(?:在|从)?.{0,6}(?<!小)(?<!偷)偷(?!偷|懒|看|听|笑|"
        "学|拍|偷地)|"
        "(?:怎么|怎样|如何|想|教我|我要|能不能).{0,4}(?:抢|撬|扒|砸)|入室|撬锁|(?<!小)偷(?:东西|钱|零食|手机|自行车|"
        "车)",
        "zh:不被.{0,4}(?:发现|抓|知道|看到|拍到)", "zh:放火|纵火|点着|点燃.{0,6}(?:学校|房子|教室|森林|树林|垃圾桶|车|"
        "仓库)|"
        "(?:点火|点).{0,6}(?:学校|房子|教室|森林|树林|垃圾桶)|烧(?:掉|了)?.{0,4}(?:学校|房子|教室|车|仓库|树林)",
        "zh:伪造.{0,4}(?:签名|钱)|假钞|模仿.{0,4}签名|破坏.{0,4}(?:学校|公物|车)|喷漆|涂鸦.{0,6}(?:车|墙|学校)",
        "zh:(?:爸爸|妈妈|父母|老师|家里|同学|她|他)的?.{0,4}(?:钱包|钱).{0,6}(?:拿|偷)|(?:拿|偷).{0,6}(?:钱包|钱)",
        "zh:防盗扣|防盗.{0,4}(?:拿出|弄掉|拆)|窒息游戏|昏厥游戏|憋气.{0,6}晕|(?:打火机|火机).{0,8}(?:喷雾|发胶|杀虫剂)|"
        "(?:喷雾|发胶|杀虫剂).{0,8}(?:打火机|点火|火)",
        "zh:(?:砸|打碎|敲碎).{0,6}(?:窗户|玻璃|车)|(?:进|登|登上|登录|上).{0,4}(?:我|他|她)?(?:姐|哥|弟|妹|同学|别人|"
        "朋友)"
        "的?.{0,2}(?:微信|qq|QQ|账号|帐号|号|抖音)",
        "zh:(?:破解|蹭|偷).{0,6}(?:wifi|WiFi|无线网|网络|网费)",
        "zh:(?:抽屉|办公室|柜子|桌子).{0,8}(?:拿|偷|看).{0,4}(?:考卷|试卷|答案|卷子|考题)|(?:火柴|"
        "打火机).{0,8}(?:发胶|喷雾|"
        "花露水)", "zh:(?:哪|什么).{0,4}(?:店|超市|商场|商店).{0,6}(?:偷|好偷|容易偷)|好偷|容易偷",
        "zh:(?:晕倒|昏倒|窒息|憋气|昏迷)(?:挑战|游戏)",
    ],
    "personal_data": [
        # en
        "home|house|email|e_mail ~ address ~ of|for", "re: (?:home |house |email )?adres (?:of|for) (?:my (?!own )|"
        "his |"
        "her |their |the (?:\\S+ )?(?:teacher|headteacher|headmaster|principal|boy|girl|kid|man|lady|coach|neighbour|"
        "neighbor|family) |mr |mrs |ms |miss |\\S+ s )",
        f"where ~ does|do|did ~ my|our|his|her|the|your ~ {RELATIVES_EN}|headteacher|headmaster|principal ~~ live|"
        "stay|sleep",
        "re: where (?:does|did) (?!the |a |an |this |that |your |our |it )\\S+ (?:\\S+ ){0,4}(?:live|lives|stay|"
        "stays) ",
        "re: where (?:does|did|do) (?:he|she|they) live ", "re: where (?:mr|mrs|ms|mis|sir|miss) \\S+ (?:lives|lived|"
        "stays) ",
        "re: (?:tel me|show me|find|find out|know) where (?!the |a |an |it |penguins |bears |\\S+ animals )\\S+ "
        "(?:\\S+ )?(?:lives|lived|stays|sleeps) ", "re: where (?:is|s) (?!the |a |an )\\S+ s (?:house|home) ",
        "re: (?:phone|telephone|mobile|cel) (?:number )?(?:of|for) (?!emergenc|the police |the fire |the school |"
        "police |"
        "school |the hospital |a doctor |the doctor |childline)",
        "email|e_mail|snapchat|instagram|insta|tiktok|whatsapp|account ~ of",
        "re: (?:\\S+ s|his|her|their|your|mr \\S+|mrs \\S+|ms \\S+|mis \\S+) (?:home |house |email |e mail |phone |"
        "mobile |secret |login |log in |tablet )?(?:adres|email|phone|pasword|surname|last name|phone number|number|"
        "pin|code|snapchat|instagram|location|login|pascode|pin number|mobile number|mobile) ",
        "teacher|school|computer|wifi|wi_fi|tablet|admin|class ~ password|pasword|pin|code",
        "hack|hacking|steal|guess|crack|find_out|break_into|know ~~ password|pasword|passcode|pin ~~ of|his|her|their|"
        "teacher|friend|sister|brother|someone",
        "social security", "id|identity card number", "credit|bank card ~ number|numbers|details|code",
        "go|come ~ to ~ her|his|their ~ house|home", "wait ~~ outside ~~ her|his|their ~ house|home|flat",
        "find|track|locate|know|find_out ~ where ~ " + PERSON_EN + "|mr|mrs|miss ~~ live*|is",
        "find|track|locate|get ~ someone*|somebody*|his|her|their|my|a_person*|people*|a_girl*|a_boy* ~ address|"
        "location|phone|house|home|number",
        "find|track ~~ house|home|address|location ~~ from ~~ photo*|pictures|insta|instagram|tiktok|snapchat|posts",
        "track ~~ location|phone|where", "location ~~ without ~ her|him|them ~ knowing",
        "re: (?:which|what) (?:street|road|house|flat|building|estate|village|block|number) (?:is|does|do|did) "
        "(?!the |a |our |my |your |this )", "log_in|login|sign_in ~ as ~ him|her|them",
        "read|see|look_at|open ~ his|her|their|someone|my_sister|my_brother|my_mum|my_dad ~ messages|diary|"
        "phone|emails|chats",
        "list|show|give|tell ~~ all|every|the ~~ kids|pupils|students|children|class ~~ pin*|password*|code*|"
        "address*|marks|grades|scores|results|phone*|login*",
        "other|everyone|everybody|all_the ~ pupils|kids|students|children ~~ marks|grades|scores|results|address*|pin*|"
        "password*|phone*", "everyone_s|everybody_s|everyones|everybodys|all_my_classmates|the_whole_class_s ~~ marks|"
        "grades|scores|"
        "results|reports|address*|pin*|"
        "password*", "first ~~ numbers|digits ~~ pin|code|password ~~ rest|log_in|login",
        "full name and address|post ~~ name|address ~~ online|internet|everyone", "dox*",
        "phone number|number|mobile|address ~ from ~ my|our ~ class|school",
        "re: (?!(?:schol|police|hospital|doctor|emergency|fire|library|council|ofice|shop|museum|cinema|zo|pizza|"
        "restaurant|bus|taxi|train|dentist|vet)s )\\S+s (?:mobile|phone|home|personal|email|private) (?:number|adres|"
        "phone|email|adrese) ",
        "which|what ~ number ~~ is ~~ his|her|their ~ house|flat|home", "which|what house ~~ is ~~ his|hers|"
        "theirs", "re: give (?:me )?\\S+ s (?:phone )?(?:number|phone|adres|pasword|pin) ",
        # fr
        "re: l?adrese? (?:de|du|d|des) (?!l ecole |la mairie |la bibliotheque |mail |e mail |la poste |l hopital )",
        "re: ou (?:habite|habitent|vit|vivent|dort|reste)(?: t)?(?: il| elle)? (?:mon|ma|mes|ton|ta|tes|son|sa|ses|"
        "notre|votre|leur|le maitre|la maitresse|le prof|la prof|l enseignant|le directeur|la directrice|le voisin|la "
        "voisine|monsieur|madame|mr|mme) ",
        "re: ou (?:il|elle) (?:habite|vit|dort) ", "re: ou (?:habite|vit) (?!le |la |les |l |un |une |des )\\S+ ",
        "numero|num|tel|telephone|portable|06|07 ~ telephone|portable|tel ~ de|du|d",
        "re: (?:numero|num|tel|telephone|portable|06|07) (?:de|du|d) (?!urgence|la police|les pompiers|police|"
        "pompiers|l ecole|secours|samu)",
        "re:(?<!mon )(?<!oublie )mot de pase (?:de|du|d) (?!la boite |l ecole |la tablete |la wifi |mon compte|ma "
        "boite|"
        "mon ordi|mon telephone|mon portable|mon ipad|ma tablete|ma session|mon jeu)",
        "re: (?:code|mot de pase|identifiants?) (?:de|du|d) (?!la |l |le |les |ma |mon |mes |aces |bare |postal )\\S+ "
        "", "e_mail|email|mail|snap|insta ~ de|du|d",
        "numero ~ carte ~ bancaire|identite|bleue",
        "pirater|voler|deviner|trouver|hacker ~~ mot_de_passe|compte|code", "numero de securite sociale",
        "suivre|localiser|pister|traquer|espionner ~~ position|telephone|localisation|portable|gps",
        "connecter|connecte ~ a_sa_place|sur_son_compte|son_compte", "son|sa|leur code|mot_de_passe",
        "quelle rue|quel_quartier|quel_immeuble|quel_numero ~~ habite|vit|est|maison", "aller ~ chez ~ lui|elle|eux",
        "trouver ~ adresse|ou_habite|maison ~~ de|d|photo*|insta", "lire ~ messages|journal|sms ~ de|du|d|ma|mon",
        "attendre ~~ devant ~ chez", "quel numero ~~ sa|son|leur ~ maison|immeuble|appart*|porte", "liste ~~ eleves|"
        "classe ~~ codes|mots_de_passe|adresses|notes",
        "notes|adresses|codes ~ des ~ autres ~ eleves|enfants", "notes ~ de ~ toute ~ la ~ classe",
        "notes|resultats|codes|adresses|bulletins ~~ de ~ tout_le_monde|toute_la_classe|des_autres|de_tous|"
        "tous_les_eleves",
        "debut|premiers_chiffres ~~ code ~~ reste|connecter", "nom et ~ son ~ adresse|adresse ~~ internet|"
        "tout_le_monde",
        "mets ~ son ~ nom|adresse",
        # zh
        "zh:(?:老师|他|她|同学|朋友|校长|邻居|班长|班主任|\\S老师)(?:的)?(?:家)?(?:住在|住|在)(?:哪|什么地方|几号|"
        "哪个小区)",
        "zh:(?:^| )(?:小|阿)\\S(?:的)?(?:家)?(?:住在|住|在)(?:哪|什么地方)",
        "zh:(?:^| )[" + SURNAMES + "]\\S{1,2}(?:的)?(?:家)?(?:住在|住|在)(?:哪|什么地方)",
        "zh:(?:老师|他|她|同学|朋友|爸爸|妈妈|爸|妈|哥|姐|弟|妹|哥哥|姐姐|弟弟|妹妹|校长|邻居|同桌|班主任|\\S老师|"
        "小\\S|"
        "[" + SURNAMES + "]\\S{1,2})(?:的|家)?(?:住址|家庭地址|地址|电话号码|电话|手机号|手机号码|密码|身份证号|身份证|"
        "银行卡|邮箱|微信|qq|QQ|登录码|账号|平板密码)",
        "zh:(?:登|登录|登上|上|进)(?:他|她|别人|同学|我哥|我姐|我弟|我妹|\\S{1,3})的?(?:号|账号|帐号|微信|qq|QQ)",
        "zh:(?:告诉我|给我|查|找|找到|发我|发给我).{0,6}(?:住址|地址|电话号码|电话|手机号|密码|身份证|家在哪|登录码)",
        "zh:(?:偷|破解|猜|黑进|盗).{0,6}(?:密码|账号|帐号|qq|微信)", "zh:(?:看|偷看|翻).{0,6}(?:日记|手机|聊天记录)",
        "zh:人肉|开盒|定位.{0,6}(?:她|他|同学|朋友|闺蜜|在哪)|(?:偷偷|怎么).{0,4}定位",
        "zh:(?:全班|别的同学|其他同学|所有同学|同学们|所有人|大家|每个人|别人)的?.{0,6}(?:成绩|分数|住址|地址|登录码|"
        "密码|电话|名单)",
        "zh:(?<!我)(?<!自己)(?<!我们)(?<!学校)家(?:的)?(?:地址|住址|门牌)(?:是什么|是多少|在哪|多少|呢|给我)",
        "zh:(?:住哪|住在哪).{0,8}(?:去她家|去他家|等她|等他|楼下)|(?:去她家|去他家).{0,6}(?:楼下|等)",
        "zh:(?:朋友圈|照片|抖音).{0,8}(?:找到|找出|查).{0,6}(?:地址|家|住)", "zh:(?:几号楼|门牌号|哪栋|哪个小区)",
        "zh:(?:地址|家).{0,4}快(?:点)?$|地址.{0,4}(?:发网上|发到网上|公开)", "zh:剩下的.{0,8}(?:登录码|密码)",
        "zh:(?:平板|电脑|手机)的?密码是多少", "zh:的电话(?:号码)?(?:是多少|多少)?$",
    ],
    "homework": [
        # en
        "re: (?:do|write|finish|complete|solve|make|answer)(?: me)?(?: al| al of| the)? (?:my|our|whole|entire|the "
        "whole|"
        "this whole|this) (?:\\S+ )?(?:\\S+ )?(?:homework|homwork|esay|asignment|worksheet|project|test|exam|exercises|"
        "exercise|report|bok report|poem|story|composition|paper|maths|math|coursework|questions|sheet) ",
        "do|write|finish|complete|solve|answer ~~ homework|essay|assignment|worksheet|project|exercises|report|test|"
        "quiz|questions|problems|sums|sheet ~~ for_me|for_us|instead|so_i_don_t|so_i_dont|i_l_copy|i_ll_copy|"
        "i_will_copy",
        "solve all|every", "give|tell|send|show ~ me|us ~ answers|the_answers|answer_key|solutions|al_the_answers",
        "answer|answers|solutions|solution|key ~ homework|test|exam|worksheet|"
        "exercises|exercise|quiz|page|questions|assignment|sheet|spelling",
        "re: write (?:me )?(?:an|a|my|the) (?:\\S+ )?(?:esay|story|report|composition|poem|paper|paragraph|letter)"
        "(?! about how)", "just|only|simply ~ give|tell|write ~ me ~ the|answer|answers",
        "what are|is the answers|answer ~ to|for|of ~~ homework|test|worksheet|page|quiz|exercise*|question",
        "in|during|doing|taking ~ test|exam|quiz|assessment ~~ quick*|fast|hurry|answer*|asap|what_is|whats|right_now",
        "test|quiz|exam ~ right_now|rn|now", "spelling|maths|math test|quiz ~~ right_now|quick|fast|"
        "how_do_you_spell", "i_m_doing|im_doing ~~ right_now|now ~~ answer|quiz|test",
        "cheat|cheating|cheats|plagiar*|copy_paste|copy_and_paste",
        "teacher|miss|sir ~~ think*|believe*|know*|notice*|won_t_know|wont_know|tell ~~ i_wrote|i_did|my_own|"
        "it_was_me|wrote_it|was_you|it_was_you",
        "so|that ~ i ~ don_t|dont|do_not ~ have|need ~ to ~ do|write|think|study",
        "copy ~~ answers|homework|friend*|someone", "i_l|i_ll|i_will|and_i_l|and_i_ll ~ copy|hand",
        "hand|turn ~ it ~ in ~ as ~ mine|my_own", "in as mine", "sound|look ~ like ~~ wrote",
        "do|write ~ it|this|the_poem|the_story ~ for me", "re: (?:my|the) (?:\\S+ )?(?:homework|esay|asignment) for "
        "me ",
        "do|answer|solve ~ questions|problems|sums|exercises|pages|numbers ~ \\d+|one ~ to|and|through ~ \\d+",
        "re: (?:do|answer|solve|finish) (?:questions|problems|sums|exercises|pages|numbers) \\d+ (?:to|and|through|-) "
        "\\d+ ", "translate ~~ whole|all|entire ~~ homework|essay|text|answers", "fill ~ in ~ the_answers|answers",
        "write ~~ story|essay|poem|report ~~ for_my|for_english|for_homework|i_l_say|and_i_l|hand_in",
        # fr
        "fais|fait|faire|ecris|ecrire|termine|terminer|finis|finir|fini|resous|resoudre|redige|rediger|traduis|"
        "traduire ~ mes|mon|ma|nos|tout|toute|tous ~ devoirs|devoir|exercices|exo|redaction|expose|dissertation|"
        "controle|examen|resume|poeme|histoire|fiche|conjugaison",
        "fais|ecris|resous|redige|faire|ecrire|rediger|reponds ~~ devoir*|exercice*|exo|redaction|expose|texte|"
        "dissertation|questions|poeme|histoire|fiche ~~ pour_moi|a_ma_place|pour_que|que_je_recopie|je_recopie",
        "donne|dis|donnez|dites|envoie|ecris ~ moi|nous|juste|toutes ~ reponse*|solution*|corrige*|les_reponses",
        "reponse*|solution*|corrige* ~~ devoir*|controle*|exercice*|exo|examen*|evaluation*|test|fiche|dictee|question",
        "tricher|triche|plagier", "copier ~~ reponses|devoirs|voisin|sur", "je|que_je ~ recopie", "prof|maitre|"
        "maitresse|professeur ~~ "
        "croie|croit|pense|pensera|croira|saura|verra ~~ moi|j_ai|c_est_moi|c_est_toi|toi|pas",
        "fais|ecris|redige|faire|ecrire|resous ~~ a_ma_place", "en|pendant|suis_en ~ eval|evaluation|controle|exam|"
        "examen|interro|test ~~ vite|reponse*|combien|"
        "c_est_quoi|quoi", "controle|eval|test|interro ~~ suis dessus", "comme si ~~ enfant|c_est_moi|j_avais|ecrit",
        "je ~ dirai|dis ~ que ~ c_est_moi|j_ai", "en|suis_en dictee|dicte|controle|eval|interro ~~ vite|"
        "comment_on_ecrit|"
        "quoi|reponse", "fais|fait|faire ~ les ~ exercices|exercice|questions ~ \\d+",
        "reponds ~ a ~ toutes|tous", "que_je|je ~ peux|puisse|vais ~~ rendre|imprimer_et_rendre", "je_le|je_la ~ rends",
        "rendre|rends ~ tel_quel|comme_ca|direct",
        # zh
        "zh:(?:帮我|替我|给我|你来|你帮我|你替我|你就)(?!.{0,6}(?:讲|解释|教|看看|检查|提示|思路|"
        "怎么))(?:把)?.{0,8}(?:写|做|完成|抄|答|翻译)(?:完|好|了)?.{0,6}"
        "(?:作业|作文|报告|练习|题|试卷|卷子|日记|读后感|诗|故事)",
        "zh:(?:作业|作文|报告|练习|题|试卷|卷子|读后感).{0,8}(?:帮我|替我|全|都)(?:写|做|完成|答)",
        "zh:写作业|做作业|作业答案|全部答案|所有答案|所有的答案|把答案|直接.{0,4}答案|考试答案|作弊|抄答案|抄作业|代写|"
        "试卷答案|标准答案|(?:考试中|正在考试|在考试|考试呢|考试 中).{0,8}(?:快|答案|多少|是什么|几)|"
        "答案.{0,4}(?:告诉|发|给)",
        "zh:(?:老师|别人).{0,6}(?:以为|看不出|发现不了|不会知道)", "zh:(?:让|好)我抄|我(?:就|直接)(?:抄|交)|我抄\\s*$",
        "zh:(?:全|都)(?:帮我|给我)(?:写|做)|(?:全|都)(?:写|做)了吧|(?:全|都)(?:帮我)(?:写|做)好",
        "zh:第?\\d+(?:到|至|-)\\d+(?:页|题).{0,8}(?:做|写|完|帮)|(?:做|写)完.{0,4}第?\\d+(?:到|至)\\d+",
        "zh:(?:考试|测验|听写|默写).{0,6}(?:答案)", "zh:(?:写|做)得?像.{0,6}(?:小学生|我|孩子)写的",
        "zh:(?:在|正在)(?:考试|测验|听写|默写|小测).{0,12}(?:快|答案|怎么写|是什么|多少)",
    ],
})

# A disclosure: the child tells of harm to themselves, or of someone harming them (not asking how to do something).
# Listed under the category the telling belongs to: a disclosure rule also refuses when no category rule matched.
# who harms a child at home or in their care (a push in the playground is a bully: help-seeking, not a disclosure)
_FAMILY_EN = ("uncle|dad|daddy|father|stepdad|stepfather|mum|mom|mother|stepmum|stepmom|brother|cousin|teacher|coach|"
              "neighbour|neighbor|babysitter|grandpa|grandad|boyfriend|stepbrother|mum s boyfriend|mom s boyfriend|"
              "mums boyfriend|moms boyfriend|parents|sister|aunt|grandma|nan|stepsister")
_FAMILY_FR = ("oncle|pere|papa|beau pere|mere|maman|frere|grand frere|demi frere|cousin|prof|maitre|maitresse|"
              "entraineur|voisin|parents|copain de ma mere|copain de maman|tonton|soeur|tante")
_FAMILY_ZH = ("爸爸|妈妈|叔叔|继父|后爸|后妈|继母|舅舅|哥哥|继兄|老师|邻居|伯伯|爷爷|姥爷|表哥|堂哥|教练|爸|妈|哥|爸妈|"
              "父母")
# who may abuse a child sexually: anyone older, a boy at school too
_WHO_EN = _FAMILY_EN + "|man|friend|boy|guy|big boy|older boy|someone|somebody"
_WHO_FR = _FAMILY_FR + "|monsieur|homme|copain|grand|un grand"
_WHO_ZH = _FAMILY_ZH + "|大人|男人|他|她|男朋友|高年级"
DISCLOSURES: dict[str, list[str]] = {
    "self_harm": [
        "i ~ want|wanna|wish|going|gonna|thinking|think|plan|planning|keep_thinking ~~ die|dead|kill_myself|"
        "end_my_life|hurt_myself|not_wake|suicide|not_be_here|not_being_here|disappear|ending_it|end_it|unalive",
        "i ~ cut|cutting|hurt|hurting|burn|burning|scratch|scratching|starve|starving|punch|punching|hit|hitting ~ "
        "myself|my",
        "i ~ don_t|dont|do_not ~ want|wanna ~ to ~ live|be_alive|wake|exist", "i hate my life",
        "keep|kept|been|started ~ cutting|hurting|scratching|burning", "hide ~~ cuts|scars|marks|bruises",
        "my life|i ~ is|m|am ~ worthless|pointless|not_worth", "nobody|no_one ~ would ~ miss ~ me",
        "everyone|everybody ~~ better|happier ~~ without_me|if_i_was_gone|if_i_were_gone",
        "long sleeves ~~ marks|cuts|scars", "i ~ stopped|stop ~ eating", "i ~ scratched|cut|burned|burnt ~~ my|myself",
        "i_m|im|i ~ planning|going|gonna|plan|want ~~ take|swallow ~~ all|every|whole ~~ pills|tablets|medicine|box",
        "scratch|scratching|pick|picking|bite|biting ~ my ~~ bleed|bleeds|blood",
        "zh:(?:抓|挠|掐|咬|打|划|割)(?:自己|我自己)?的?.{0,4}(?:胳膊|手臂|手腕|腿|皮肤|自己).{0,6}(?:流血|出血|破皮|"
        "见血)",
        "zh:我.{0,8}(?:药|药片|安眠药).{0,4}(?:全|都)(?:吃|吞)|我.{0,6}把.{0,6}(?:药|药片|安眠药)(?:全|都)(?:吃|吞)",
        "i ~ don_t|dont ~ see ~ the ~ point", "i_m|i_am|im ~ going_to|gonna ~ jump|end|unalive",
        "je|j ~ veux|voudrais|vais|pense|envie ~~ mourir|me_tuer|me_suicider|disparaitre|crever|en_finir|plus_etre_la|"
        "foutre_en_l_air",
        "je ~ me ~ coupe|scarifie|fais_du_mal|fais_mal|griffe|brule|suis_coupe|suis_coupee", "je ~ ne ~ veux ~ plus ~ "
        "vivre", "je ~ suis ~ coupe|coupee ~ bras|poignets", "me suis ~ encore ~ coupe|coupee|scarifie",
        "tout le monde serait mieux sans moi", "j_en_peux_plus|en_peux_plus ~~ medocs|cachets|mourir|en_finir",
        "personne ~ va ~ me ~ regretter", "je|jveux|j ~ plus vivre", "fatigue ~ de vivre",
        "zh:我.{0,6}(?:想死|不想活|活不下去|想自杀|割腕|自残|伤害自己|割自己|划自己|划了|割了|想.{0,2}消失|"
        "结束.{0,2}生命|"
        "不在了|跳下去|饿死自己|不吃饭|结束这一切|结束一切|不想再撑)",
        "zh:(?:不想活|想死|活着好累|活着没意思|活不下去|想割腕|想自杀|想跳楼|想消失|想结束)",
        "je ~ prends|prendre|vais_prendre|avale|avaler ~~ tous|toute|toutes ~~ medocs|medicaments|cachets|pilules|"
        "boite|comprimes", "zh:(?:我|大家).{0,6}消失.{0,8}(?:开心|更好)",
        "zh:(?:用|拿).{0,4}(?:圆规|刀|小刀|剪刀|刀片).{0,4}(?:划|割).{0,4}(?:手|胳膊|自己|腿)",
    ],
    "sexual": [
        f"re: (?:\\S+ ){{0,3}}(?:{_WHO_EN}|he|she) (?:\\S+ ){{0,3}}(?:touches|touched|touching|molests|molested|"
        "kises|kised|undreses|undresed|films|filmed|rubs|rubed|feels|felt) (?:me|my) ",
        "touch* me ~~ private*|down_there|where|under|bathing_suit|when_i|at_night|in_bed|and",
        "re: (?:he|she|him and|her and|and|they|who|then) (?:\\S+ )?(?:touches|touched|keeps touching|kises|kised|"
        "rubs|rubed|feels) me ",
        "re: (?:abused|molested|raped|rape) (?:me|by)",
        "re: (?:makes|made|forces|forced|asks|asked|tels|told) me (?:\\S+ ){0,3}(?:touch|undres|watch|kis|take of|"
        "show|look at) ",
        "comes|came|gets|got ~ into ~ my ~ bed|room ~~ touch*|night",
        "shows|showed|puts_on|put_on ~~ me ~~ videos|pictures|photos|films ~~ naked|no_clothes|sex|adult|rude|"
        "grown_up|watch",
        f"re: (?:{_WHO_FR}|il) (?:\\S+ ){{0,2}}(?:me|m) (?:touche|touchait|deshabile|embrase|filme|oblige) ",
        "m_a|ma|m a ~ force|forcee|oblige|obligee ~~ toucher|touche|deshabiller|regarder",
        "m_a|ma|m a ~ montre ~~ films|videos|photos ~~ adultes|cul|nus|sexe",
        "vient ~ dans ~ mon ~ lit",
        f"zh:(?:{_WHO_ZH}).{{0,6}}(?:摸|亲|脱)(?:了)?.{{0,2}}我|(?:让|要|逼)我.{{0,4}}(?:摸|脱|看他)",
        f"zh:(?:{_WHO_ZH}|表哥|堂哥).{{0,4}}(?:给我看|让我看).{{0,6}}(?:大人|成人|黄色|光着|裸|片子)",
        "zh:(?:爬|钻)(?:到|进)我.{0,2}(?:床|被子)|(?:摸|亲)我(?:下面|胸|屁股|全身)",
    ],
    "violence": [
        f"re: (?:\\S+ ){{0,3}}(?:{_FAMILY_EN}) (?:\\S+ ){{0,3}}(?:hits|hit|hiting|beats|beat|beating|hurts|"
        "hurt|kicks|kicked|slaps|slaped|burns|burned|locks|locked|chokes|choked|punches|punched|pushed|pushes|"
        "shoved|threw|throws|whips|whiped|belts|belted|abuses|abused|strangles|strangled|smacks|smacked|"
        "bangs|banged|starves|starved) (?:me|my) ",
        "i am|i_m|im ~ scared|afraid ~ of|to_go ~ my|home ~~ dad|mum|mom|uncle|stepdad|brother|home|him",
        "re: i (?:was|am|m|get|got) (?:\\S+ )?(?:beaten|hit|hurt|whiped|locked|punched|kicked|slaped) ",
        "hits|hit|beats|punches ~ me ~~ with|when|belt|until|every",
        f"re: (?:{_FAMILY_FR}) (?:\\S+ ){{0,2}}(?:me|m) (?:frape|tape|bat|batent|fait mal|enferme|cogne|"
        f"gifle|pousse|etrangle|etranglait|a tape|a frape|a pouse|a gifle|brule|secoue) ",
        "j ai peur de ~~ rentrer|papa|pere|maman|oncle|beau_pere|maison",
        "m_a|ma|m a ~ tape|frappe|pousse|gifle|cogne|etrangle|brule ~~ tete|mur|escalier|ceinture",
        "me frappe|tape|bat|cogne|etrangle ~~ ceinture|quand|jusqu|tous_les|chaque",
        f"zh:(?:{_FAMILY_ZH}).{{0,6}}(?:打|踢|掐|烫|关|推|抽|揍|扇)(?:了)?.{{0,3}}我", "zh:我.{0,4}(?:害怕|"
        "怕).{0,4}(?:回家|爸爸|继父|叔叔)",
        "zh:(?:皮带|棍子|衣架).{0,4}(?:抽|打)我|把我(?:推|关|锁)",
    ],
    "grooming": [
        "re: (?:asked|asks|told|tels|wants|makes|made|keeps asking) me (?:\\S+ ){0,2}to (?:send|take|show|keep|meet|"
        "sit|"
        "come|delete|go) ", "said|says|told_me ~ it_s|it_is|its|this_is ~ our ~ secret",
        "re: (?:m a|m ont) (?:demande|dit) (?:d|de) (?:envoyer|montrer|garder|venir|me deshabiler|efacer) ",
        "dit ~ que ~ c_est|c est ~ notre ~ secret",
        "zh:(?<!不)(?:让我|叫我|要我).{0,6}(?:发|拍|不要告诉|保密|见面|删)", "zh:(?:他|她)说.{0,6}秘密",
        "wants|asked|asks|keeps_asking ~ me|for ~~ pic*|photo*|picture*|meet|snap|address",
        "my ~ online|internet ~ friend|boyfriend|bf ~~ wants|says|asked|is_\\d+",
        "a|this|the ~ man|guy|stranger|someone|person ~~ online|game|chat|snapchat|tiktok|instagram|whatsapp|roblox|"
        "fortnite|discord ~~ wants|asked|asks|says|sent|keeps|offered",
        "veut ~~ me_voir|voir|photo*|adresse|venir_me_chercher|que_je_vienne",
        "dit|demande|dis ~~ de ~ dire_a_personne|rien_dire|pas_le_dire|le_dire_a_personne|garder_le_secret|rien_dire_a",
        "monsieur|homme|adulte|inconnu|inconnue|mec|gars|type|quelqu_un|il|grand ~~ me|m ~ demande|demandait|"
        "a_demande|veut|envoie|propose|offre|a_envoye ~~ photo*|video*|selfie*|adresse|rencontrer|voir|venir|secret|"
        "maillot|culotte|soutif|nu|nue",
        "our|these|the|my ~ messages|chats|texts|talks|photos|pics|calls ~~ secret|a_secret",
        "favourite|favorite|special|mature ~~ secret|don_t_tell|not_tell|not_to_tell|keep",
        "nos|mes|les ~ messages|conversations|conv|sms|photos|appels ~~ secret|secrets|secrete|secretes",
        "preferee|prefere|speciale|special|mature ~~ secret*|rien_dire|dire_a_personne",
        "zh:(?:聊天|短信|消息|照片|视频|电话).{0,6}(?:保密|秘密|别告诉|不要告诉)|最喜欢的.{0,10}(?:保密|秘密|别告诉)",
        "says|said|told_me|tells_me ~~ not ~ to ~ tell ~ anyone|anybody|my|mum|mom|dad|parents",
        "zh:(?:说|让我|叫我).{0,12}(?:不要告诉|别告诉|不许告诉|不能告诉).{0,4}(?:任何人|别人|爸|妈|家长|老师)",
        "il|elle|mec|monsieur|gars|type ~ me|m ~ donne|donnera|offre|propose|paye ~~ si ~~ photo*|envoie|j_envoie|"
        "selfie|video",
        "zh:(?:网友|陌生人|叔叔|哥哥|男的|网恋对象|教练).{0,8}(?:要我|(?<!不)让我|说要|要来|带我|接我|给我发)",
    ],
    "drugs": [
        "gives|gave|give|buys|bought|makes ~ me ~~ beer|alcohol|wine|vodka|cigarettes|drink|drinks ~~ secret|"
        "not_to_tell|don_t_tell|alone",
        "makes|made|lets|let|forces|forced ~ me ~ smoke|drink|vape ~~ his|her|their|with|secret|our|"
        "beer|cigarettes|vodka|wine",
        "me ~ fait|faisait|force|laisse ~ fumer|boire|vapoter|gouter|essayer ~~ ses|sa|son|avec|secret|notre|truc",
        "zh:(?:叔叔|舅舅|伯伯|爸爸|爸|继父|后爸|大人|邻居|表哥|堂哥|哥哥|爷爷|姥爷|教练|老师)(?:总是|总|经常|老)?"
        "(?:让|叫|逼)我.{0,3}(?:陪他|和他|跟他)?.{0,2}(?:抽烟|喝酒|喝啤酒|吸烟|喝白酒)",
        "donne|donnait|a_donne|fait_boire|me_fait_boire ~~ biere|alcool|vin|vodka|cigarettes ~~ secret|rien_dire|"
        "pas_dire",
        "zh:(?:给我|让我|叫我).{0,4}(?:喝酒|喝啤酒|喝白酒|抽烟|喝).{0,8}(?:别告诉|不要告诉|别说|秘密|不用告诉)",
    ],
}


# -- guards: the frames of an ordinary question that only sounds close -------------------------------------------------

ALL_BUT_SELF_HARM = ("grooming", "sexual", "violence", "drugs", "hate", "crime", "personal_data", "homework")
_NO_I_EN = r"(?!.* (?:i|me|my|myself|we|im|i m|mine) )"
_NO_I_FR = r"(?!.* (?:je|j|me|m|moi|mon|ma|mes|on|nous|notre) )"
_NO_GET = r"(?!.* (?:good|god|cheap|buy|get|where|site|website|make|acheter|trouver|site|bon) )"
_NO_ASK = (r"(?!.* (?:best|easiest|quickest|fastest|painles|how to|way to|ways to|how much|how many|can i|should i|"
           r"meileur|moyen|facon|plus rapide|sans douleur) )")
GUARDS: list[tuple[tuple[str, ...], list[str]]] = [
    # asking for help against a bully, a stranger, a dare: "what should I do if someone online asks for a photo"
    (ALL_BUT_SELF_HARM, [
        "what ~ should|do|can|must|would ~ i|we ~ do ~ if|when|about", "what to do if|when|about",
        "what_should_i_do|what_do_i_do|what_can_i_do|what_should_we_do|how_do_i_make_them_stop",
        "how do|can|should i ~ say_no|refuse|tell|report|block|stop_it|stop_them|stop_him|stop_her|get_help|"
        "make_it_stop|help_my|help_a|stay_safe|keep_safe|protect",
        "who ~ should|do|can|could ~ i ~ tell|ask|talk_to|go_to", "is_it ~ bad|ok|safe|wrong|right ~ to tell",
        "how can i help ~ my|a ~ friend", "how to stay|keep safe", "how do i say no",
        "how to ~ say_no|refuse|stop_bullying|deal_with",
        "why ~ should_not|shouldn_t|shouldnt|can_t|cant|mustn_t|must_not ~ i|we|you|kids|children|people",
        "why is it ~ dangerous|bad|unsafe|wrong", "is it ~ safe|dangerous ~ to", "pourquoi ~~ faut_pas|faut_il_pas|"
        "ne_faut_pas|ne_faut_il_pas|ne_doit_pas|interdit|dangereux", "c est ~ dangereux|interdit ~ de",
        "zh:为什么不能|为什么不要|为什么不可以|为什么不应该|安全吗|危险吗|是不是很危险",
        "je ~ dois|doit|fais|fait ~ quoi ~ si|quand", "que faire ~ si|quand|s_il", "qu est ce que je dois faire",
        "je dois|doit faire quoi", "je fais|fait|fai quoi|koi", "comment faire pour que ~ ca|il|elle|ils ~ arrete|"
        "s_arrete|arretent|s_arretent|arreter", "make ~ it|them|him|her ~ stop", "zh:怎么(?:才能)?让(?:他|她|"
        "他们)(?:别|不要|不再|"
        "停)", "je fais|fait comment", "comment je fais pour|pr ~ "
        "qu_il|qu_elle|qu_ils|que_ca|que_ça ~ arrete|arretent|stop", "a qui ~ je|dois|peux|faut ~ dire|parler|"
        "demander|le_dire",
        "comment ~ dire_non|refuser|bloquer|signaler|aider_mon|aider_ma|aider_un", "c est grave de dire",
        "comment aider", "zh:如果.{0,24}(?:怎么办|该怎么做|怎么做|该做什么|应该做什么)", "zh:我(?:该|应该)怎么办|"
        "我该怎么做", "zh:(?:该|应该|要|可以)(?:找谁|"
        "跟谁说|告诉谁)",
        "zh:怎么拒绝|如何拒绝|怎么说不", "zh:要不要告诉(?:老师|爸妈|家长|大人)|告诉老师会不会", "zh:会不会很丢人",
        "zh:怎么(?:帮|帮助)(?:他|她|朋友|同学)", "zh:找谁帮忙|向谁求助",
    ]),
    # why a character, an animal or history did it; how nature or the body works
    (("violence", "crime", "drugs", "self_harm"), [
        "re:^" + _NO_I_EN + " (?:why|how come) (?:did|do|does|was|were|is|are|would|had|has|didn t|don t|doesn t|"
        "can t|shouldn t|should) ",
        "re:^" + _NO_I_EN + " (?:what|how|who|when|where) (?:did|was|were|happened|made) ",
        "re:^" + _NO_I_EN + " (?:what|who|which) (?:\\S+ )?(?:kiled|destroyed|caused|started|ended|invented|discovered|"
        "sank|burned|burnt) ",
        "re:^" + _NO_I_EN + _NO_ASK + " (?:how|what) (?:does|is|are) (?!you |one )",
        "re:^" + _NO_I_EN + _NO_ASK + " how do (?!you |u |people |kids |children |teens |teenagers |someone |they |"
        "thieves |robers |kilers )",
        "re:^" + _NO_I_FR + " pourquoi (?!je |j |on |tu )", "re:^" + _NO_I_FR + _NO_ASK + " (?:comment|qui|quand) "
        "(?:les|le|la|l|un|une|des) (?!gens |enfants |voleurs )",
        "zh:^ ?(?:为什么|为何)(?!.*我)", "zh:^ ?(?!.*我)(?!.*(?:最快|最好|不疼|不痛|怎么弄|怎么做|"
        "哪里买)).{0,12}(?:是怎么|是什么|什么是|为什么)",
        "zh:^ ?(?!.*我).{0,10}(?:的故事|讲的是|是怎么回事|是哪一年|历史)", "zh:^ ?(?!.*我)有人.{0,8}(?:警察|会怎么|"
        "会被)",
        "re:^" + _NO_I_EN + " (?:what|how) (?:do|does|wil|would) (?:the )?police ",
    ]),
    # what a word means: "what is an overdose", "c'est quoi un hacker", "什么是黑客"
    (("violence", "crime", "drugs", "self_harm", "personal_data", "grooming", "hate"), [
        "re:^" + _NO_I_EN + _NO_ASK + _NO_GET + " (?:what is|what s|whats|what are|what does) (?:a|an|the word) ",
        "re:^" + _NO_I_FR.replace("|on|", "|") + _NO_ASK + _NO_GET + " (?:c est quoi|qu est ce qu|qu est ce que|"
        "ca veut dire quoi) (?:un|une|le mot (?!de pase))", "zh:^ ?(?!.*我)(?!.*(?:家|的密码|的地址|的电话|的手机|"
        "的登录码|的账号))(?:什么是|"
        ".{1,6}是什么意思|"
        ".{1,6}是什么$|.{1,6}是什么 )",
    ]),
    # checking one's own work, asking for a hint: help, not doing the work
    (("homework",), [
        "hint|hints|clue|explain|explaining|check|checking|understand|step|steps|idea|ideas|tip|tips|example",
        "is ~ my|this|that|it ~ answer|right|correct", "did i get ~ it|this ~ right", "how do i start|begin",
        "how_do_i|how_to|how_can_i|how_should_i ~ write|start|end|finish|plan|improve|structure|begin",
        "comment ~ ecrire|commencer|finir|terminer|ameliorer|structurer|rediger", "zh:怎么写|如何写|怎么开头|怎么结尾",
        "don_t|dont|do_not ~ get|understand", "indice|indices|*xplique*|verifier|verifie|comprend*|"
        "aide_moi_a_comprendre|"
        "etape|astuce|conseil",
        "c est ~ juste|bon|correct", "c_est_bon|c_est_juste", "comment ~ commencer", "zh:提示|讲讲|讲解|解释|检查|"
        "对吗|对不对|"
        "不懂|思路|怎么想|怎么开头|开头怎么写|讲一下|讲一讲|教我怎么|为什么",
    ]),
    # one's own password, PIN or address; how to keep them safe
    (("personal_data", "crime"), [
        "my own", "forgot|forgotten|lost|reset|change ~ my ~ password|pasword|pin|code|login",
        "how|why ~~ make|keep|choose|create|pick ~~ password|pasword|pin ~~ strong|safe|secret|hard|good",
        "strong|safe|good|secure ~ password|pasword", "why ~ should|shouldn_t|should_not|not ~~ share|give|tell|post",
        "oublie ~ mon|ma|mes|son", "mon propre", "comment ~ faire|choisir|garder ~~ mot_de_passe|code",
        "mot_de_passe solide|sur|secret|fort|dur|complique", "pourquoi ~~ faut|doit|ne ~~ pas ~~ donner|dire|partager",
        "zh:我(?:忘了|忘记了|忘记)|忘了(?:我的)?(?:密码|登录码)|怎么设置|为什么不能|安全的密码|怎么保管|难猜的密码|"
        "安全吗",
    ]),
    # racism and bullying as a lesson topic: what it is, why it is wrong, who fought it
    (("hate",), [
        "what_is|what_s|whats racism|bullying|discrimination|racist|sexism|homophobia",
        "why is ~ racism|bullying|discrimination ~ wrong|bad", "about|against|on ~ racism|discrimination|sexism",
        "martin_luther_king|mandela|rosa_parks|luther_king",
        "stop|fight|end|prevent ~ racism|bullying|discrimination", "why do ~ bullies|people ~ bully",
        "c_est_quoi|qu_est_ce_que le racisme|harcelement", "contre|sur ~ le ~ racisme|harcelement", "pourquoi le "
        "racisme",
        "pourquoi ~ les_harceleurs|on ~ harcele*", "zh:反对种族歧视|什么是种族歧视|种族歧视是什么|马丁|曼德拉|"
        "种族歧视.{0,4}(?:不对|错|为什么)|为什么.{0,6}(?:有人|有些人|别人).{0,4}(?:欺负|霸凌|歧视|骂)",
    ]),
]

# "what should I do if someone online asks for a photo": harm imagined, asked about, not told (a named grown-up is told)
HYPOTHETICAL = [
    "if|when|whenever ~ someone|somebody|a_stranger|stranger|strangers|anyone|anybody|a_person|people|an_adult|"
    "a_grown_up|a_grownup|a_man|a_woman|a_boy|a_girl|a_kid|another_kid|an_older|a_bully|bullies|a_classmate",
    "si|quand ~ quelqu_un|qqn|un_inconnu|une_inconnue|un_adulte|un_monsieur|un_homme|un_grand|une_personne|on|"
    "des_gens|un_eleve|un_camarade",
    "zh:如果.{0,3}(?:有人|陌生人|别人|网友|有个人|一个人|大人|同学|坏人)",
]


# "my friend says she wants to die, how can I help her": a child asking how to help another child, which the issue's
# help-seeking rule makes an ordinary question; a self-harm rule's match there goes to the learned layer instead
_OTHER_EN = ("friend|friends|bff|best_friend|mate|classmate|class_mate|sister|brother|sis|bro|cousin|neighbour|"
             "neighbor|someone_in_my_class|somebody_in_my_class|a_girl_in_my_class|a_boy_in_my_class|a_kid_in_my_class")
_OTHER_FR = ("ami|amie|amis|pote|potes|copain|copine|copains|copines|meilleure_amie|meilleur_ami|soeur|frere|cousin|"
             "cousine|camarade|quelqu_un_de_ma_classe|une_fille_de_ma_classe|un_garcon_de_ma_classe|voisin|voisine")
FOR_SOMEONE_ELSE = [
    f"my|a|our ~ {_OTHER_EN} ~~ how_can_i|how_do_i|how_could_i|how_should_i|how_to ~ help|support|comfort|talk_to|"
    "stop_her|stop_him|tell",
    f"my|a|our ~ {_OTHER_EN} ~~ what_should_i_do|what_do_i_do|what_can_i_do|who_should_i_tell|who_do_i_tell|"
    "who_can_i_tell|should_i_tell|do_i_tell|can_i_help",
    f"help|helping|support ~ my|a ~ {_OTHER_EN}",
    f"mon|ma|mes|un|une ~ {_OTHER_FR} ~~ comment ~ l_aider|aider|la_soutenir|le_soutenir|l_en_empecher|lui_parler|"
    "le_dire",
    f"mon|ma|mes|un|une ~ {_OTHER_FR} ~~ je_fais_quoi|je_fait_quoi|je_fai_koi|je_fais_koi|que_faire|je_dois_faire_quoi|"
    "a_qui_le_dire|a_qui_je_dois|je_dois_le_dire|je_le_dis",
    f"aider ~ mon|ma|un|une ~ {_OTHER_FR}",
    "zh:(?:朋友|闺蜜|同学|同桌|哥们|兄弟|姐妹|表姐|表妹|表哥|表弟|姐姐|妹妹|哥哥|弟弟|室友|邻居家的).{0,30}"
    "(?:怎么(?:帮|帮助|安慰|劝|开导|救)|(?:该|应该|要|可以)(?:找谁|跟谁说|告诉谁|怎么办|怎么做)|要不要告诉|"
    "我能做什么|我能帮)",
    "zh:(?:帮|帮助|安慰|劝|开导).{0,3}(?:朋友|闺蜜|同学|同桌|哥们|姐妹)",
]
# ...unless the child speaks of harm to themself as well ("me too", "我也不想活了") or asks to help with the harm
_SELF_TOO = [
    "i|me ~ too|also|as_well", "i ~ also|too ~ want|wanna|feel|think", "i_want_to_die|i_wanna_die|kil_myself|"
    "kill_myself|hurt_myself|cut_myself|end_my_life", "we|both ~ want|wanna|are_going|gonna|wil",
    "ourselves|together", "moi aussi", "je ~ veux|voudrais|vais ~ mourir|me_tuer|en_finir|disparaitre",
    "me_scarifier|me_couper|me_faire_du_mal", "nous|ensemble|on_veut|on_va",
    "re:" + HELP_TO_HARM_EN,
    "aider ~~ a_se|a_mourir|a_se_tuer|a_se_suicider|a_se_couper|a_en_finir",
    "zh:我也|我(?:都)?(?:不想活|想死|想自杀|想消失|割自己|伤害自己)|我们|一起",
    "zh:帮.{0,6}(?:自杀|去死|死|割|跳楼|吃药|买药|结束)",
]


@functools.cache
def _for_someone_else() -> tuple[list[re.Pattern[str]], list[re.Pattern[str]]]:
    return [compile_rule(s) for s in FOR_SOMEONE_ELSE], [compile_rule(s) for s in _SELF_TOO]


def for_someone_else(text: str) -> bool:
    """True when the child asks how to help another child ("my friend cuts herself, who should I tell")."""
    helping, self_too = _for_someone_else()
    forms = _forms(text)
    return _any(helping, forms) and not _any(self_too, forms)


@functools.cache
def _hypothetical() -> list[re.Pattern[str]]:
    return [compile_rule(s) for s in HYPOTHETICAL]


def hypothetical(text: str) -> bool:
    """True when the question imagines harm by someone unnamed ("what if a stranger...") rather than telling of it."""
    return _any(_hypothetical(), _forms(text))


# -- topics: the words of a category, refused only when the embedding layer leans that way too -----------------------

TOPICS: dict[str, list[str]] = {
    "self_harm": ["suicid*|overdos*|self_harm|die|dying|dead|death|cut|cutting|pills|disappear|hopeless|worthless|"
                  "end_it|kill_themselves|killed_herself|killed_himself|unalive|bleach|poison|wake_up|sleep_forever",
                  "mourir|mort|suicide|tuer|couper|cachets|disparaitre|en_finir|crever|javel|poison|reveiller",
                  "zh:(?<![饿累笑热冷困烦吓气忙渴闷])死(?!我了)|自杀|割|跳楼|安眠药|消失|活着|轻生|不醒|漂白|农药|"
                  "毒药"],
    "sexual": ["sex|sexy|sexual|naked|nude|kiss|kissing|bed|bedroom|boobs|private_parts|porn|rude|dirty|naughty|"
               "deed|do_it|doing_it|underwear|undies|bra|hot|spicy",
               "sexe|sexuel*|nu|nue|bisous|lit|coucher|cochon*|seins|zizi|la_chose|le_faire|sous_vetements|culotte|"
               "chaud|chauds|chaude", "zh:性|裸|亲亲|床|黄色|色色|胸|脱衣|那种事|那事|内衣|内裤|羞羞"],
    "grooming": ["online|stranger|strangers|internet|game|photo*|pic|pics|picture*|selfie|secret|meet|chat|snap*",
                 "internet|inconnu*|en_ligne|photo*|secret|rencontrer|snap|jeu", "zh:网上|网友|陌生人|照片|秘密|见面|"
                 "聊天"],
    "violence": ["kil|kils|kiled|hurt|hit|punch|fight|gun|guns|knife|knives|bomb|bombs|explode*|weapon*|poison*|"
                 "stab|shoot|blood|bleed|attack|beat",
                 "tuer|frapper|couteau|bombe|arme|armes|exploser|poison|sang|taper|tirer",
                 "zh:杀|打|刀|枪|炸|毒|血|爆炸|武器"],
    "drugs": [DRUGS_EN + "|high|drunk|smoke|smoking|vape", DRUGS_FR + "|fumer|boire|planer",
              "zh:" + _zh(DRUGS_ZH) + "|抽烟|喝酒|吸毒"],
    "hate": [f"racist|racism|joke|jokes|insult*|names|laugh|make_fun|bully|bullying|{GROUPS_EN}",
             f"raciste|racisme|blague*|insulte*|moquer|harceler|{GROUPS_FR}", "zh:歧视|笑话|骂|欺负|外号|" +
             "|".join(GROUPS_ZH.split())],
    "crime": ["steal|stealing|fire|burn|hack|hacking|break|lock|shoplift*|rob|dare|challenge",
              "voler|feu|bruler|pirater|casser|defi", "zh:偷|火|烧|黑进|撬|挑战"],
    "personal_data": ["address|phone|number|password|pasword|pin|live|lives|where|code|location",
                      "adresse|numero|mot_de_passe|code|habite|telephone", "zh:地址|电话|密码|住|登录码|手机号"],
    "homework": ["homework|essay|answers|answer|test|quiz|worksheet|write|story|exercise*",
                 "devoir*|redaction|reponse*|controle|exercice*|exo", "zh:作业|作文|答案|考试|题"],
}


@functools.cache
def compiled() -> dict[str, list[re.Pattern[str]]]:
    """Every category's rules, compiled once."""
    return {category: [compile_rule(s) for s in specs] for category, specs in RULES.items()}


@functools.cache
def _disclosures() -> dict[str, list[re.Pattern[str]]]:
    return {category: [compile_rule(s) for s in specs] for category, specs in DISCLOSURES.items()}


@functools.cache
def _guards() -> list[tuple[tuple[str, ...], list[re.Pattern[str]]]]:
    return [(categories, [compile_rule(s) for s in specs]) for categories, specs in GUARDS]


@functools.cache
def _topics() -> dict[str, list[re.Pattern[str]]]:
    topic = {}
    for category, specs in TOPICS.items():
        # a topic is any one of its words anywhere: each alternative on its own, gaps around it
        topic[category] = [compile_rule(s if s.startswith("zh:") else s.replace(" ", "|")) for s in specs]
    return topic


_BETWEEN_CJK = re.compile(r"(?<=[\u3400-\u9fff]) (?=[\u3400-\u9fff])")


def _forms(text: str) -> tuple[str, str]:
    # punctuation between Chinese characters becomes a space in rule_text() ("我不想，活了" reads " 我不想 活了 "):
    # zh: rules also read the text with those breaks taken out
    return text, _BETWEEN_CJK.sub("", text)


def _hit(pattern: re.Pattern[str], forms: tuple[str, str]) -> bool:
    if pattern.pattern.startswith(" "):  # a slot rule: words as cut
        return bool(pattern.search(forms[0]))
    return bool(pattern.search(forms[0]) or (forms[1] != forms[0] and pattern.search(forms[1])))


def _any(patterns: Iterable[re.Pattern[str]], forms: tuple[str, str]) -> bool:
    return any(_hit(p, forms) for p in patterns)


def matching(text: str, categories: Iterable[str]) -> list[str]:
    """The categories (in the order given) whose rules match a rule_text(), before guards."""
    rules, forms = compiled(), _forms(text)
    return [c for c in categories if _any(rules.get(c, ()), forms)]


def guarded(text: str) -> set[str]:
    """The categories whose rule matches an ordinary frame of the question turns into topics (help, history...)."""
    forms = _forms(text)
    return {c for categories, patterns in _guards() if _any(patterns, forms) for c in categories}


# figures of speech that use a category's words and mean nothing by them: not topic words
HYPERBOLE = re.compile(squeeze(
    r" (?:(?:m )?ennuie a mourir|mort de (?:rire|fatigue|faim|peur)|morte de (?:rire|fatigue|faim|peur)|meurs de "
    r"(?:faim|soif|rire|froid|chaud)|(?:is|it s|its|are) killing me|dying (?:to|of)|dead tired|could die (?:of|for)|"
    r"bored to death|me tue|me tuent|va me tuer) |(?:饿|累|笑|热|冷|困|烦|吓|气|忙|渴|闷|无聊)死(?:我|了|人)|"
    r"要(?:了)?我(?:的)?(?:老)?命"))


def topics(text: str, categories: Iterable[str]) -> list[str]:
    """The categories (in the order given) whose topic words the text has (figures of speech left out)."""
    words, forms = _topics(), _forms(HYPERBOLE.sub(" ", text))
    return [c for c in categories if _any(words.get(c, ()), forms)]


def told(text: str, categories: Iterable[str]) -> list[str]:
    """The categories (in the order given) of the disclosures a rule_text() reads as: harm to the child."""
    rules, forms = _disclosures(), _forms(text)
    return [c for c in categories if _any(rules.get(c, ()), forms)]

"""Word lists and patterns for the deterministic parser (genres, moods, numbers, critiques, cues).

Genre policy: nouns naming a genre ("a comedy", "horror", "sci fi", "romcom", "cartoon", "kids") are hard
filters. Adjectives describing a feeling ("funny", "scary", "romantic") are soft: kept in ``mood`` for
semantic retrieval, because many funny films are not tagged Comedy. Negated, those adjectives do become
exclusions ("nothing scary" -> no Horror): ruling a genre out is what the user asked for.
"""

from __future__ import annotations

import re

from agent.understanding.deltas import Critique


def words(text: str) -> frozenset[str]:
    """The set of whitespace-separated words in ``text``."""
    return frozenset(text.split())


# (pattern, genres) for genre nouns; longest phrases first.
GENRE_NOUNS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (r"romantic[- ]comed(?:y|ies)|rom[- ]?coms?", ("Romance", "Comedy")),
    (r"science[- ]fiction|sci[- ]?fi|scifi|sf", ("Sci-Fi",)),
    (r"film[- ]noirs?|noirs?", ("Film-Noir",)),
    (r"animated|animations?|cartoons?|anime", ("Animation",)),
    (
        r"kids?|children'?s?|family[- ](?:friendly|movies?|films?|night)|for (?:the |my )?(?:whole )?family",
        ("Children",),
    ),
    (r"comed(?:y|ies)|stand[- ]?up", ("Comedy",)),
    (r"horrors?|slashers?", ("Horror",)),
    (r"documentar(?:y|ies)|docs?|docu(?:mentarie)?s?|docuseries", ("Documentary",)),
    (r"dramas?", ("Drama",)),
    (r"fantas(?:y|ies)", ("Fantasy",)),
    (r"imax", ("IMAX",)),
    (r"musicals?", ("Musical",)),
    (r"myster(?:y|ies)|whodunn?its?", ("Mystery",)),
    (r"romances?|love stor(?:y|ies)", ("Romance",)),
    (r"thrillers?|suspense", ("Thriller",)),
    (r"war(?: movies?| films?)?|wwii|ww2|world war", ("War",)),
    (r"westerns?|cowboys?", ("Western",)),
    (r"action(?: movies?| films?| flicks?)?", ("Action",)),
    (r"adventures?", ("Adventure",)),
    (r"crime|gangsters?|mafia|mob movies?", ("Crime",)),
)

# Feeling adjectives: exclusions when negated, otherwise only mood.
GENRE_ADJECTIVES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (r"scary|frightening|creepy|terrifying|spooky|gory|horrific", ("Horror",)),
    (r"funny|silly|comedic|hilarious", ("Comedy",)),
    (r"romantic|sappy|mushy|lovey[- ]dovey", ("Romance",)),
    (r"violent", ("Action",)),
    (r"sad|depressing|tear[- ]?jerkers?", ("Drama",)),
)

# (pattern, canonical mood) for soft descriptors.
MOODS: tuple[tuple[str, str], ...] = (
    (r"mind[- ]?(?:bending|blowing|benders?|fucks?)", "mind-bending"),
    (r"feel[- ]?good", "feel-good"),
    (r"(?:with an? )?(?:plot )?twists?|twisty", "twist"),
    (r"(?:outer )?space", "space"),
    (r"dark", "dark"),
    (r"funny|hilarious", "funny"),
    (r"scary|creepy|spooky|terrifying", "scary"),
    (r"romantic", "romantic"),
    (r"heart[- ]?warming", "heartwarming"),
    (r"uplifting|inspiring|inspirational", "uplifting"),
    (r"sad|tear[- ]?jerkers?", "sad"),
    (r"thought[- ]provoking", "thought-provoking"),
    (r"slow[- ]burn", "slow-burn"),
    (r"atmospheric|moody", "atmospheric"),
    (r"cerebral|smart|clever|intelligent", "clever"),
    (r"quirky|weird|surreal|offbeat", "quirky"),
    (r"epic", "epic"),
    (r"gritty", "gritty"),
    (r"violent|gory", "violent"),
    (r"intense|suspenseful|tense", "intense"),
    (r"heists?", "heist"),
    (r"time[- ]travel", "time travel"),
    (r"dystopian?|post[- ]apocalyptic", "dystopian"),
    (r"zombies?", "zombies"),
    (r"vampires?", "vampires"),
    (r"robots?|artificial intelligence", "robots"),
    (r"aliens?(?: invasion)?", "aliens"),
    (r"superhero(?:es)?", "superhero"),
    (r"(?:based on a )?true story", "true story"),
    (r"coming[- ]of[- ]age", "coming of age"),
    (r"road[- ]trip", "road trip"),
    (r"courtroom", "courtroom"),
    (r"sports?", "sports"),
    (r"christmas|holiday", "christmas"),
    (r"nostalgic", "nostalgic"),
    (r"cos?zy|wholesome", "wholesome"),
    (r"witty", "witty"),
    (r"cult(?: classic)?", "cult"),
    (r"stylish|visually stunning|beautiful|gorgeous", "beautiful"),
    (r"fast[- ]paced|action[- ]packed", "fast-paced"),
    (r"psychological", "psychological"),
    (r"dreams?", "dreams"),
    (r"high school", "high school"),
    (r"light[- ]?hearted", "light-hearted"),
    (r"emotional|moving|touching", "emotional"),
    (r"relaxing|chill", "relaxing"),
)

NUMBER_WORDS: dict[str, int] = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20, "a couple of": 2, "a couple": 2,
    "couple of": 2, "a pair of": 2, "a few": 3, "few": 3, "several": 4, "a handful of": 5, "a handful": 5,
    "half a dozen": 6, "a dozen": 12, "single": 1, "a single": 1,
}  # fmt: skip
NUMBER_RE = r"(?:\d{1,2}|" + "|".join(sorted(map(re.escape, NUMBER_WORDS), key=len, reverse=True)) + r")"

ORDINALS: dict[str, int] = {
    "first": 0, "1st": 0, "second": 1, "2nd": 1, "third": 2, "3rd": 2, "fourth": 3, "4th": 3,
    "fifth": 4, "5th": 4, "sixth": 5, "6th": 5, "seventh": 6, "7th": 6, "eighth": 7, "8th": 7,
    "ninth": 8, "9th": 8, "tenth": 9, "10th": 9, "last": -1, "final": -1, "latter": -1, "former": 0,
}  # fmt: skip
ORDINAL_RE = "(?:" + "|".join(sorted(ORDINALS, key=len, reverse=True)) + ")"

DECADE_WORDS: dict[str, int] = {
    "twenties": 1920, "thirties": 1930, "forties": 1940, "fifties": 1950, "sixties": 1960,
    "seventies": 1970, "eighties": 1980, "nineties": 1990, "noughties": 2000, "naughties": 2000,
}  # fmt: skip

CRITIQUES: tuple[tuple[str, Critique], ...] = (
    (r"more (?:recent|modern|current|up to date)|newer(?: ones?)?(?! than)|less old|too old|"
     r"not (?:so|as|that) old",
     Critique.MORE_RECENT),
    (r"older(?: ones?)?(?! than)|less (?:recent|modern|new)|too (?:new|recent|modern)|more classic",
     Critique.OLDER),
    (r"less (?:violent|violence|gory|gore|bloody|brutal)|too (?:violent|gory|bloody|brutal)|"
     r"not (?:so|as|that) (?:violent|gory|bloody)|(?:without|with less) (?:so much )?(?:violence|gore)",
     Critique.LESS_VIOLENT),
    (r"funnier|more (?:funny|comic|comedic|comedy|humou?r|humorous|jokes|laughs)|not funny enough|"
     r"(?:a lot |much |way )?more humou?r", Critique.FUNNIER),
    (r"more (?:romantic|romance|love stor(?:y|ies))|not romantic enough|(?:a lot |much )?more lovey[- ]dovey",
     Critique.MORE_ROMANTIC),
    (r"less (?:dark|serious|heavy|intense|depressing|grim|bleak|sad|gloomy)|lighter|"
     r"more (?:upbeat|fun|cheerful|light[- ]?hearted|positive|uplifting|happy)|happier|cheerier|"
     r"too (?:dark|depressing|heavy|grim|bleak|sad|intense|serious|gloomy)", Critique.LIGHTER),
    (r"darker|more (?:dark|serious|intense|gritty|grim)|grittier|too (?:light|fluffy|happy)|"
     r"less (?:light|fluffy)", Critique.DARKER),
    (r"something (?:else|different)|different (?:ones|movies|films|picks|suggestions|options|stuff|titles)|"
     r"other (?:ones|movies|films|picks|suggestions|options|titles)|none of (?:those|these|them|that)|"
     r"not (?:those|these|them)\b|try again|anything else|show me others|other recommendations",
     Critique.SOMETHING_ELSE),
    (r"more (?:popular|mainstream|famous|well[- ]known|known)|better[- ]known|(?<!less )well[- ]known|"
     r"too (?:obscure|niche|indie|unknown)|blockbusters?|crowd[- ]pleasers?", Critique.MORE_POPULAR),
    (r"hidden gems?|less (?:well[- ])?(?:known|popular|mainstream|famous|obvious)|lesser[- ]known|"
     r"obscure|underrated|"
     r"under[- ]the[- ]radar|deep cuts?|too (?:mainstream|popular|obvious|famous)|"
     r"not (?:so|too|that) (?:mainstream|popular|obvious|famous)|niche|under[- ]?seen|under[- ]?appreciated",
     Critique.LESS_POPULAR),
)  # fmt: skip

RESET_RE = (
    r"start (?:over|again|afresh|fresh|from scratch)|reset|restart|new search|begin again|from scratch|"
    r"forget (?:everything|all (?:that|of that|this|of this)|what i said|it all|about it all)|"
    r"clear (?:everything|all|the filters|my preferences)|let'?s start fresh"
)
SEEN_ALL_RE = (
    r"(?:seen|watched|saw) (?:all|each|every one|every single one|both) of (?:those|these|them|em)|"
    r"(?:seen|watched|saw) (?:them|those|these|em|all of them|all those|all these|both) "
    r"(?:all|already|before|too|both|yet)?|(?:seen|watched) (?:all|both) (?:those|these|them)|"
    r"(?:seen|watched|saw) (?:them|those|these|em)\b|"
    r"(?:those|these|them|all of them|they)(?: are| were)? all (?:seen|watched)|seen all(?! of| the)"
)
CLEAR_YEARS_RE = (
    r"any (?:year|decade|era|time period|release date)|(?:don'?t|do not) care (?:about )?(?:the )?"
    r"(?:year|when|how old|release date|era)|regardless of (?:the )?(?:year|age|era)|all years|"
    r"no (?:year|date) (?:limit|restriction|filter)s?|old or new|new or old|"
    r"(?:forget|drop|remove|ignore|lose|scrap|get rid of|never ?mind|no need for) (?:about )?"
    r"(?:the |that |my )?"
    r"(?:year|date|decade|era|release date|time period)s?(?: (?:limit|range|restriction|filter|requirement|"
    r"thing|bit|part)s?)?|(?:year|date)s? (?:don'?t|doesn'?t) matter"
)

_GENRE_WORD = (
    r"(?:genres?|comed(?:y|ies)|horrors?|dramas?|thrillers?|westerns?|romances?|musicals?|documentar(?:y|ies)"
    r"|sci[- ]?fi|science fiction|action|adventures?|animations?|crime|fantas(?:y|ies)|myster(?:y|ies)|war)"
)
CLEAR_GENRES_RE = (
    rf"(?:forget|drop|remove|ignore|lose|scrap|get rid of|never ?mind) (?:about )?(?:the |that |my )?"
    rf"{_GENRE_WORD}(?: (?:thing|bit|part|filter|requirement))?|any genre|(?:genres?|genre doesn'?t) "
    r"(?:don'?t|doesn'?t)? ?matters?"
)
REPLACE_GENRES_RE = (
    r"instead|actually|make it|make that|switch(?:ing)? (?:it |that )?to|change (?:it |that |this )?to"
    r"|no wait"
    r"|scratch that|rather have|on second thought"
)
# A lone common word or phrase that the title spotter may take for a title ("stuff", "the original"):
# never a title on its own.
GENERIC_TITLE_WORDS = words(
    "movie movies film films stuff night goodbye marathon post pre original beyond ghost ghosts romance war "
    "trip girls cruise infinity twins gonna that's thats kid kids fourth fifth third second first last "
    "drama comedy horror action"
)

# Sentiment cues, rewritten into markers before items are attributed. Order matters.
NEUTRAL_CUE = (
    r"(?:have ?n'?t|have not|never|not yet|did ?n'?t|did not|not) (?:\w+ )?(?:seen|watched|saw|see|watch)"
    r"|have you (?:ever )?(?:seen|watched)|did you (?:see|watch|like)"
    r"|do you (?:know|like)(?: of| about)?(?= +¤T)"
    r"|what about|(?:not |n't |un)familiar with|never hea?r?d (?:of|about)|not sure about"
    r"|(?:do ?n'?t|do not) think i(?:'ve| have)? (?:ever )?(?:seen|watched|saw)"
    r"|is (?:it|that) any good|haven'?t seen|(?:have ?n'?t|have not|never|not) (?:\w+ )?heard (?:of|about)"
    r"|saw (?:the |a )?(?:trailers?|previews?|ads?) (?:for|of)|(?:a|the) (?:film|movie|documentary) about"
    r"|(?:not sure|don'?t know) (?:if |whether |that )?(?:i'?d |i would |i'?ll |i will )?(?:like|enjoy|love)?"
)
DISLIKE_CUE = (
    r"(?:i )?(?:did ?n'?t|did not|do ?n'?t|do not|does ?n'?t|does not|never|was ?n'?t|was not|am not|"
    r"i'?m not|not|could ?n'?t|can'?t|cannot|wouldn'?t) (?:really |much |particularly |too |that |so |super |"
    r"a (?:big |huge )?)?(?:like|liked|love|loved|enjoy|enjoyed|into|fan of|care for|cared for|stand|dig|"
    r"impressed by|get into|fond of|big on|interested in|crazy about|care (?:too |that |very |so )?much for)"
    r"|(?:do ?n'?t|do not|please don'?t|never|stop) (?:\w+ )?"
    r"(?:recommend(?:ing)?|suggest(?:ing)?|show(?:ing)?)"
    r"|(?:not|never|was ?n'?t|was not|i'?m not|am not) (?:such |really |that |much of |much |very )*"
    r"(?:a |an )?"
    r"(?:very |big |huge )*fan of|pass on"
    r"|(?:much |way |a lot |even )?(?:better|more) than"
    r"|(?:heard|read) (?:\w+ ){0,3}(?:bad|awful|terrible|negative|horrible) (?:things|reviews|stuff)"
    r" (?:about|of|for)"
    r"|not (?:too |to |that |very |really |all that )?interested in|stop with|skip|burned by|let down by"
    r"|disappointed (?:by|with|in)|hated|hate|hates|disliked|dislike|dislikes|despised?|loathed?"
    r"|not a fan of|no fan of|not into|least favou?rites?|dis+ap+ointed (?:by|with|in)"
    r"|(?:not|n't) (?:really )?(?:looking for|in the mood for|wanting) "
    r"(?:something |anything |movies? |films? )?"
    r"(?:that'?s )?(?:like|similar to)|not anything (?:that'?s )?(?:like|similar to)"
    r"|nothing like|unlike|except|not interested in|not in the mood for|tired of"
    r"|sick of|bored by|bored of|avoid|no more|instead of|rather than|without|anything but|couldn'?t finish"
    r"|walked out of|fell asleep (?:during|watching)"
)
LIKE_CUE = (
    r"(?:i )?(?:really |absolutely |totally |also |just |do |still )?(?:loved|love|loves|liked|like|likes"
    r"|enjoyed|enjoy|enjoys|adored|adore|dug|dig|rewatched|rewatch)"
    r"|(?:a )?(?:big |huge |massive )?fan of|into|similar to|along the lines of|in the vein of"
    r"|in the style of|same vibe as|vibes? (?:like|of)|reminds? me of|such as|more of|more like|as good as"
    r"|(?:my )?favou?rites? (?:is|are|was|were|include|includes|being)|(?:my )?favou?rite"
    r"|recommend(?:ed)?|impressed by|blew me away"
)
# "anything besides X": X is known (never recommended again), neither liked nor disliked
SEEN_CUE = (
    r"(?:i'?ve |i have |i |already |have )?(?:already )?(?:seen|watched|saw|rewatched)"
    r"|besides?|aside from|other than|apart from"
)
POSITIVE_WORDS = (
    r"great|amazing|awesome|good|fantastic|excellent|brilliant|incredible|perfect|favou?rite|masterpiece|fun"
    r"|beautiful|best|cool|wonderful|superb|epic|solid|fine|nice|enjoyable|underrated|my jam|a classic|gold"
    r"|a blast|stunning|gorgeous|hilarious|great fun|for me|my (?:speed|thing|style|cup of tea|kind of \w+)"
)
NEGATIVE_WORDS = (
    r"boring|bad|terrible|awful|overrated|meh|dull|bland|trash|garbage|worst|disappointing|a letdown"
    r"|a let down|mediocre|stupid|annoying|lame|too long|too slow|slow|dumb|horrible|crap|rubbish|forgettable"
    r"|not for me|a waste of time|pretentious|cheesy|weak|silly|not so much|not that much|nonsense|corny"
    r"|a disappointment|a dissapointment|disappointing|underwhelm(?:ed|ing)|overhyped"
    r"|too silly|too scary|too gory|too violent|too (?:young|childish|kiddie|long|slow|weird|cheesy|dark|sad"
    r"|depressing|predictable|confusing|corny|gross|creepy|over the top)|confusing|predictable|awkward"
    r"|a (?:bit|little) (?:much|off)|not my (?:speed|thing|style|cup of tea|kind of \w+|type|favou?rite)"
    r"|not (?:that |very |all that |as |so )?(?:good|great|funny|interesting|entertaining)"
)
POSITIVE_VERBS = r"rocks?|rocked|rules?|ruled|blew me away|was a blast|slaps"
NEGATIVE_VERBS = (
    r"sucks?|sucked|bored me|bores me|put me to sleep"
    r"|i (?:did ?n'?t|did not|do ?n'?t|do not) (?:really )?(?:like|enjoy|love|care for)(?= *(?:[.!?,;\n]|$))"
)
POSITIVE_PRONOUN = (
    r"(?:really |absolutely |totally )?(?:loved|liked|enjoyed|adored|adore|love) "
    r"(?:it|them|both|that one|those)(?! *¤)"
)
NEGATIVE_PRONOUN = (
    r"(?:(?:not|was ?n'?t|was not|i'?m not|am not) (?:such |really |that |very )*(?:a |an )?"
    r"(?:very |big |huge )*fan of|wouldn'?t (?:watch|see)(?= (?:it|them|that) again)|hated|disliked|"
    r"didn'?t (?:really )?(?:like|enjoy|care for)|did not (?:like|enjoy|care for)|"
    r"(?:wouldn'?t|would not|won'?t|don'?t think i(?:'d| would| will)) (?:like|enjoy|love)|"
    r"not (?:really )?interested in) (?:it|them|both|that one|those|that)(?! *¤)"
)
COPULA = r"(?:was|were|is|are|'s|looks?|looked|seems?|seemed|sounds?|sounded|felt|feels?|remains?)"
ADVERBS = (
    r"(?:so|as|really|very|pretty|kinda|kind of|sort of|super|quite|just|truly|absolutely|totally|a bit|"
    r"a little|honestly|actually|also|too|such|an?|my|all-time|all time|personal|definitely|the|way|"
    r"one of the|probably|easily|certainly|still|overall|kinda)"
)

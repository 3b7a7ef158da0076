"""What followers are asking: questions of a period grouped into themes.

Questions are embedded with the shipped encoders (English with all-MiniLM-L6-v2; text the English model
cannot read, Chinese for one, with multilingual-e5-small when one is given), and each encoder's questions
are clustered on their own: agglomerative clustering, average linkage, cosine distance, cut where the
average distance between two groups passes a threshold (`THRESHOLDS`, tuned per encoder on BANKING77
*train* questions, see benchmarks/themes_banking77.py). A cluster is a theme when at least `min_askers`
distinct followers asked in it; the rest stay unthemed.

Each theme has a label (its most central question: highest cosine to the theme's mean), a keyword (the
most distinctive word, or for Chinese the most distinctive character bigram), how many followers asked,
how much of it the FAQ answers and how often it was handed off, and a suggested action (`ACTIONS`).
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import cast

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage

from nlp.encoder import Encoder
from nlp.language import needs_multilingual

# Cosine-distance cut per encoder name (average linkage), tuned on BANKING77 train questions
# (benchmarks/themes_banking77.py; figures in docs/benchmarks.md); an encoder not listed gets DEFAULT_THRESHOLD.
THRESHOLDS = {"all-MiniLM-L6-v2": 0.44, "multilingual-e5-small": 0.105}
DEFAULT_THRESHOLD = THRESHOLDS["all-MiniLM-L6-v2"]
# Two periods' themes are the same theme when their centroids' cosine reaches this (per encoder: e5's
# similarities are compressed near 1); chosen on two halves of a BANKING77 train sample, same benchmark.
SAME_THEME = {"all-MiniLM-L6-v2": 0.8, "multilingual-e5-small": 0.95}
DEFAULT_SAME_THEME = SAME_THEME["all-MiniLM-L6-v2"]
LINKAGE = "average"
MIN_ASKERS = 3

# What to do about a theme; user-facing wording in one table so the bot can move it to its texts.
ACTIONS = {"add_faq": "add an FAQ answer", "post": "make a post about it"}

AskerId = Hashable


@dataclass(frozen=True)
class Asked:
    """One follower question of the period.

    `id` names the message (examples are given by id); `faq_entry` is the FAQ entry that answered it
    (None: the FAQ did not); `handed_off` is True when it was passed on to the creator.
    """

    text: str
    asker: AskerId
    id: Hashable | None = None
    faq_entry: str | None = None
    handed_off: bool = False


@dataclass(frozen=True)
class Theme:
    """A group of questions asked by at least `min_askers` distinct followers.

    `members` are indices into the questions given to `find_themes`, most central first; `example_ids`
    the ids of the first few of them. Shares are over the theme's questions (0.0 .. 1.0).
    `centroid` is the normalised mean embedding (in `encoder`'s space), for `compare`.
    """

    label: str
    keyword: str
    askers: int
    questions: int
    asker_ids: tuple[AskerId, ...]
    members: tuple[int, ...]
    example_ids: tuple[Hashable, ...]
    faq_share: float
    handed_off_share: float
    faq_entry: str | None  # the FAQ entry that answered most of its answered questions
    encoder: str
    centroid: np.ndarray = field(repr=False, compare=False)
    keyword_by: tuple[AskerId, ...] = ()  # the askers whose own words hold the keyword (its provenance)

    @property
    def action(self) -> str:
        """'add_faq' when the FAQ answers fewer than half of its questions, else 'post' (a key of ACTIONS)."""
        return "add_faq" if self.faq_share < 0.5 else "post"


@dataclass(frozen=True)
class ThemeChange:
    """A theme against the previous period: `status` is 'new', 'up', 'down', 'same' or 'gone'."""

    theme: Theme | None  # None when gone
    previous: Theme | None  # None when new
    askers_before: int
    askers_now: int
    status: str

    @property
    def change(self) -> int:
        return self.askers_now - self.askers_before


# ---------------------------------------------------------------------------------------------- clustering
def tree(embeddings: np.ndarray, method: str = LINKAGE) -> np.ndarray:
    """The agglomerative merge tree (scipy linkage matrix) of L2-normalised embeddings, cosine distance.

    embeddings: (n, dim), n >= 2. method: 'average' (shipped), 'complete' or 'single'.
    """
    x = np.asarray(embeddings, dtype=np.float64)
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    return np.asarray(linkage(x, method=method, metric="cosine"))


def cut(merge_tree: np.ndarray, n: int, threshold: float) -> np.ndarray:
    """Cluster labels (n,), 0-based, from a merge tree cut at a cosine distance `threshold` (0 .. 2)."""
    if n == 0:
        return np.zeros(0, dtype=int)
    if n == 1:
        return np.zeros(1, dtype=int)
    return np.asarray(fcluster(merge_tree, t=threshold, criterion="distance"), dtype=int) - 1


def cluster(embeddings: np.ndarray, threshold: float, method: str = LINKAGE) -> np.ndarray:
    """Cluster labels (n,) of embeddings (n, dim): groups whose average cosine distance stays below `threshold`."""
    n = len(embeddings)
    if n < 2:
        return np.zeros(n, dtype=int)
    return cut(tree(embeddings, method), n, threshold)


# ---------------------------------------------------------------------------------------------- keywords
_WORD = re.compile(r"[a-z][a-z0-9'’]*")
_CJK_RUN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
_STOPWORD_TEXT = """
a about above after again against all am an and any anyone anybody anything are aren't as at be because been
before being below between both but by can can't cannot could couldn't did didn't do does doesn't doing don't
down during each else even ever every few for from further get gets getting got had hadn't has hasn't have
haven't having he her here hers herself him himself his how i i'm i've if in into is isn't it it's its itself
just know let like me might more most much must my myself need no nor not now of off on once only or other
our ours ourselves out over own please really same shall she should shouldn't so some someone something still
such than thank thanks that that's the their theirs them themselves then there there's these they this those
through to too under until up very want was wasn't way we were weren't what what's when where which while who
whom why will with won't would wouldn't yes yet you you're your yours yourself yourselves hi hey hello ok okay
also there's one two get go going make made use used tell already again new old
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())
# Chinese function characters: a bigram containing one is not a keyword
_CJK_STOP = frozenset("的了吗呢吧么是我你他她它们这那有在和也就都不很什怎为啊呀嘛哦哪几多少谁个会要能可以还没到说"
                      "给让把被对跟与及或而且但就又才再太好请问")


def _stem(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def terms(text: str) -> dict[str, str]:
    """Content terms of a text -> the surface form seen: English words (stopwords out, plurals folded)
    and Chinese character bigrams (bigrams with a function character out; a lone character stands alone)."""
    out: dict[str, str] = {}
    low = text.lower().replace("’", "'")
    for w in _WORD.findall(low):
        w = w.strip("'")
        if len(w) < 2 or w in STOPWORDS or w.isdigit():
            continue
        out.setdefault(_stem(w), w)
    for run in _CJK_RUN.findall(text):
        if len(run) == 1:
            if run not in _CJK_STOP:
                out.setdefault(run, run)
            continue
        for a, b in itertools.pairwise(run):
            if a not in _CJK_STOP and b not in _CJK_STOP:
                out.setdefault(a + b, a + b)
    return out


def keywords(groups: Sequence[Sequence[str]], background: Sequence[str] = ()) -> list[str]:
    """The most distinctive term of each group of texts ('' when a group has none).

    score(w, g) = share of g's texts containing w × (1 + log((1 + N) / (1 + df(w)))), N and df over every
    text given (all groups plus `background`): frequent in the group, rare elsewhere. Ties: the term
    more texts contain, then alphabetical. The surface form returned is the one seen most often.
    """
    group_terms = [[terms(t) for t in g] for g in groups]
    group_texts = [list(g) for g in groups]
    df: Counter[str] = Counter()
    for g in group_terms:
        for t in g:
            df.update(t.keys())
    for text in background:
        df.update(terms(text).keys())
    n_total = sum(len(g) for g in groups) + len(background)
    out = []
    for texts, g in zip(group_texts, group_terms, strict=True):
        counts: Counter[str] = Counter()
        surface: dict[str, Counter[str]] = {}
        for t in g:
            counts.update(t.keys())
            for stem, form in t.items():
                surface.setdefault(stem, Counter())[form] += 1
        if not counts:
            out.append("")
            continue

        def score(stem: str, size: int = len(g), c: Counter[str] = counts) -> tuple[float, int, str]:
            idf = 1.0 + math.log((1 + n_total) / (1 + df[stem]))
            return (-(c[stem] / size) * idf, -c[stem], stem)

        best = min(counts, key=score)
        word = surface[best].most_common(1)[0][0]
        if _CJK_RUN.fullmatch(word):
            word = _extend(word, [text for text, t in zip(texts, g, strict=True) if best in t])
        out.append(word)
    return out


def _extend(phrase: str, texts: Sequence[str], longest: int = 6) -> str:
    """Grow a Chinese bigram by a character to the left or right while every text that has it still has
    the longer phrase ('影课' in 摄影课 ... -> '摄影课')."""
    while len(phrase) < longest:
        grown = None
        for text in texts:
            for start in (m.start() for m in re.finditer(re.escape(phrase), text)):
                for cand in (text[max(start - 1, 0):start + len(phrase)], text[start:start + len(phrase) + 1]):
                    if len(cand) > len(phrase) and _CJK_RUN.fullmatch(cand) and all(cand in t for t in texts):
                        grown = cand
                        break
                if grown:
                    break
            if grown:
                break
        if grown is None:
            return phrase
        phrase = grown
    return phrase


# ---------------------------------------------------------------------------------------------- themes
EncoderSource = Encoder | Callable[[], Encoder]


def _resolve(source: EncoderSource) -> Encoder:
    if hasattr(source, "encode"):
        return cast(Encoder, source)
    return cast(Callable[[], Encoder], source)()


def threshold_for(encoder: Encoder) -> float:
    return THRESHOLDS.get(getattr(encoder, "name", ""), DEFAULT_THRESHOLD)


def find_themes(questions: Sequence[Asked], encoder: Encoder, min_askers: int = MIN_ASKERS,
                threshold: float | None = None, multilingual: EncoderSource | None = None,
                multilingual_threshold: float | None = None, background: Sequence[str] = (),
                max_examples: int = 3, method: str = LINKAGE) -> list[Theme]:
    """Group questions into themes, largest first (by distinct askers, then questions).

    encoder: the English encoder. multilingual: an encoder (or a function returning one, called only when
    needed) for text the English one cannot read (`nlp.language.needs_multilingual`); without it, every
    question goes to `encoder`. threshold / multilingual_threshold: cosine-distance cut (default:
    `THRESHOLDS` by encoder name). min_askers: distinct followers a theme needs (>= 1).
    background: other texts of the period (not clustered), only to judge which words are distinctive.
    """
    if min_askers < 1:
        raise ValueError(f"min_askers must be at least 1, not {min_askers}")
    routes: list[tuple[Encoder, float, list[int]]] = []
    if multilingual is None:
        routes.append((encoder, threshold if threshold is not None else threshold_for(encoder),
                       list(range(len(questions)))))
    else:
        reader = encoder if hasattr(encoder, "unknown_share") else None
        foreign = [needs_multilingual(q.text, reader) for q in questions]  # type: ignore[arg-type]
        english = [i for i, f in enumerate(foreign) if not f]
        other = [i for i, f in enumerate(foreign) if f]
        if english:
            routes.append((encoder, threshold if threshold is not None else threshold_for(encoder), english))
        if other:
            multi = _resolve(multilingual)
            routes.append((multi, multilingual_threshold if multilingual_threshold is not None
                           else threshold_for(multi), other))
    found: list[tuple[list[int], np.ndarray, str]] = []
    for enc, cut_at, rows in routes:
        emb = np.asarray(enc.encode([questions[i].text for i in rows]), dtype=np.float64)
        emb /= np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)
        labels = cluster(emb, cut_at, method)
        for label in np.unique(labels):
            local = np.flatnonzero(labels == label)
            if len({questions[rows[i]].asker for i in local}) < min_askers:
                continue
            centroid = emb[local].mean(axis=0)
            centroid /= max(float(np.linalg.norm(centroid)), 1e-12)
            order = local[np.argsort(-(emb[local] @ centroid), kind="stable")]
            found.append(([rows[i] for i in order], centroid, getattr(enc, "name", "")))
    words = keywords([[questions[i].text for i in members] for members, _, _ in found],
                     [*background, *(q.text for q in questions)])
    themes = [_theme(questions, members, centroid, name, word, max_examples)
              for (members, centroid, name), word in zip(found, words, strict=True)]
    themes.sort(key=lambda t: (-t.askers, -t.questions, t.label))
    return themes


def _theme(questions: Sequence[Asked], members: list[int], centroid: np.ndarray, encoder: str, keyword: str,
           max_examples: int) -> Theme:
    asked = [questions[i] for i in members]
    askers = tuple(dict.fromkeys(q.asker for q in asked))
    answered = [q.faq_entry for q in asked if q.faq_entry is not None]
    examples = tuple(q.id for q in asked if q.id is not None)[:max_examples]
    word = keyword.casefold()
    keyword_by = tuple(dict.fromkeys(q.asker for q in asked if word and word in q.text.casefold()))
    return Theme(label=asked[0].text, keyword=keyword, askers=len(askers), questions=len(asked),
                 asker_ids=askers, members=tuple(members), example_ids=examples,
                 faq_share=len(answered) / len(asked),
                 handed_off_share=sum(q.handed_off for q in asked) / len(asked),
                 faq_entry=Counter(answered).most_common(1)[0][0] if answered else None,
                 encoder=encoder, centroid=centroid, keyword_by=keyword_by)


def compare(previous: Sequence[Theme], current: Sequence[Theme], min_similarity: float | None = None,
            steady: float = 0.2) -> list[ThemeChange]:
    """How each current theme changed against the previous period's themes.

    Themes are paired one to one, most similar first, when their centroids (same encoder) have cosine
    >= min_similarity (default: `SAME_THEME` by encoder name). status: 'new' (no counterpart), 'up' / 'down' (askers changed by more than
    `steady` × before), 'same', and 'gone' for previous themes without a counterpart (listed last).
    """
    pairs: list[tuple[float, int, int]] = []
    for i, now in enumerate(current):
        for j, before in enumerate(previous):
            if now.encoder == before.encoder and now.centroid.shape == before.centroid.shape:
                sim = float(now.centroid @ before.centroid)
                needed = min_similarity if min_similarity is not None else SAME_THEME.get(now.encoder,
                                                                                          DEFAULT_SAME_THEME)
                if sim >= needed:
                    pairs.append((sim, i, j))
    match: dict[int, int] = {}
    used: set[int] = set()
    for _, i, j in sorted(pairs, key=lambda p: (-p[0], p[1], p[2])):
        if i not in match and j not in used:
            match[i] = j
            used.add(j)
    out = []
    for i, now in enumerate(current):
        if i not in match:
            out.append(ThemeChange(now, None, 0, now.askers, "new"))
            continue
        before = previous[match[i]]
        delta = now.askers - before.askers
        status = "same" if abs(delta) <= steady * before.askers else "up" if delta > 0 else "down"
        out.append(ThemeChange(now, before, before.askers, now.askers, status))
    out += [ThemeChange(None, before, before.askers, 0, "gone") for j, before in enumerate(previous) if j not in used]
    return out

"""A negative surge, explained: what the negative comments are about, who wrote them, a drafted reply,
and afterwards whether the mood recovered.

* `summarize_surge`: the surge's negative comments grouped into themes (`nlp.themes`, a keyword and one
  example each, largest first), the comments in no theme, and how many commenters are new followers
  (first seen within `new_within` of the surge) against long-time ones.
* `draft_response`: a reply for the creator to edit and send, naming the top themes (`DRAFTS`, English or
  Chinese, chosen by the comments' script unless given).
* `mood_recovery`: the share of negative comments in the hours after against the channel's usual share,
  with a Wilson interval; `MOOD` holds the wording.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from nlp.encoder import Encoder
from nlp.language import foreign_share
from nlp.themes import Asked, EncoderSource, find_themes

MIN_COMMENTERS = 2  # a surge is small: two people on one subject already make a theme

# User-facing wording: {topics} is the themes' keywords joined with the language's "and".
DRAFTS = {
    "en": {"text": ("Thank you all for telling me what you think about {topics}. I read every comment, I hear you, "
                    "and I'm looking into it. I'll come back with an update soon."),
           "fallback": "my latest post", "and": " and ", "comma": ", "},
    "zh": {"text": "谢谢大家关于{topics}的留言，每一条我都认真看了。我听到了大家的意见，正在想办法改进，很快会给大家一个交代。",
           "fallback": "最近的内容", "and": "和", "comma": "、"},
}
MOOD = {
    "too_few": "Only {n} comment{s} since: too few to tell whether the mood recovered.",
    "recovered": ("The mood recovered: {share:.0%} of the {n} comments since were negative, "
                  "against the usual {usual:.0%}."),
    "not_recovered": ("The mood has not recovered yet: {share:.0%} of the {n} comments since were negative, "
                      "against the usual {usual:.0%}."),
}


@dataclass(frozen=True)
class Comment:
    text: str
    author: Hashable
    id: Hashable | None = None


@dataclass(frozen=True)
class SurgeTheme:
    keyword: str
    comments: int
    commenters: int
    example: str  # the most central comment
    example_id: Hashable | None
    members: tuple[int, ...]  # indices into the comments given, most central first
    keyword_by: tuple[Hashable, ...] = ()  # the commenters whose own words hold the keyword
    example_by: Hashable | None = None  # who wrote the example


@dataclass(frozen=True)
class SurgeSummary:
    themes: list[SurgeTheme]  # largest first
    unthemed: int  # negative comments in no theme
    comments: int
    commenters: int
    new_commenters: int  # first seen within `new_within` of the surge (or never seen before)
    long_time_commenters: int
    language: str  # 'en' or 'zh': the script most comments are written in

    @property
    def top(self) -> SurgeTheme | None:
        return self.themes[0] if self.themes else None


@dataclass(frozen=True)
class Recovery:
    n: int  # comments after the surge
    negative_share: float
    usual_share: float
    ci_low: float  # 95 % Wilson interval of negative_share
    ci_high: float
    recovered: bool | None  # None: too few comments to tell
    summary: str


def summarize_surge(negative: Sequence[Comment], encoder: Encoder, at: datetime,
                    first_seen: Mapping[Hashable, datetime], new_within: timedelta = timedelta(days=30),
                    min_commenters: int = MIN_COMMENTERS, multilingual: EncoderSource | None = None,
                    threshold: float | None = None, multilingual_threshold: float | None = None,
                    background: Sequence[str] = ()) -> SurgeSummary:
    """What the surge's negative comments are about, and who wrote them.

    at: when the surge fired; first_seen: follower -> when the bot first saw them (a commenter missing
    here counts as new). background: the period's other comments, to judge which words are distinctive.
    The encoders and thresholds are those of `nlp.themes.find_themes`.
    """
    asked = [Asked(c.text, c.author, c.id) for c in negative]
    themes = find_themes(asked, encoder, min_askers=min_commenters, threshold=threshold, multilingual=multilingual,
                         multilingual_threshold=multilingual_threshold, background=background, max_examples=1)
    out = [SurgeTheme(t.keyword, t.questions, t.askers, t.label, t.example_ids[0] if t.example_ids else None,
                      t.members, t.keyword_by, negative[t.members[0]].author if t.members else None)
           for t in themes]
    out.sort(key=lambda t: (-t.comments, -t.commenters, t.keyword))
    authors = list(dict.fromkeys(c.author for c in negative))
    new = sum(1 for a in authors if a not in first_seen or at - first_seen[a] < new_within)
    chinese = sum(foreign_share(c.text) > 0.3 for c in negative)
    return SurgeSummary(out, len(negative) - sum(t.comments for t in out), len(negative), len(authors), new,
                        len(authors) - new, "zh" if chinese > len(negative) / 2 else "en")


def draft_response(summary: SurgeSummary, language: str | None = None, max_topics: int = 2,
                   drafts: Mapping[str, Mapping[str, str]] = DRAFTS) -> str:
    """A reply naming the surge's top themes, for the creator to edit; sent only when they press Send.

    language: a key of `drafts` (default: the summary's language).
    """
    lang = language or summary.language
    if lang not in drafts:
        raise ValueError(f"no draft wording for language {lang!r}: use one of {', '.join(sorted(drafts))}")
    words = drafts[lang]
    topics = [t.keyword for t in summary.themes[:max_topics] if t.keyword]
    if not topics:
        joined = words["fallback"]
    elif len(topics) == 1:
        joined = topics[0]
    else:
        joined = words["comma"].join(topics[:-1]) + words["and"] + topics[-1]
    return words["text"].format(topics=joined)


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of a proportion k / n (0.0 .. 1.0; (0, 1) when n is 0)."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def mood_recovery(negative_after: Sequence[bool], usual_share: float, margin: float = 0.05,
                  min_comments: int = 5, texts: Mapping[str, str] = MOOD) -> Recovery:
    """Did the mood recover? negative_after: one flag per comment in the hours after the surge (True:
    negative); usual_share: the channel's usual share of negative comments (0 .. 1).

    Recovered when the share after is at most usual_share + margin; None (said plainly) with fewer than
    `min_comments` comments.
    """
    n = len(negative_after)
    k = sum(bool(x) for x in negative_after)
    share = k / n if n else 0.0
    low, high = wilson(k, n)
    if n < min_comments:
        return Recovery(n, share, usual_share, low, high, None,
                        texts["too_few"].format(n=n, s="" if n == 1 else "s"))
    recovered = share <= usual_share + margin
    text = texts["recovered" if recovered else "not_recovered"].format(share=share, n=n, usual=usual_share)
    return Recovery(n, share, usual_share, low, high, recovered, text)

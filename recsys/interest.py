"""The tag-interest recommender.

Followers u, posts c, tags t. Interaction intensity I(u, c) (a comment weighs more than a reaction),
post-tag relevance S(c, t), follower interest alpha(u, t), preference P(u, c) = sum_t alpha(u, t) S(c, t).

Everything works on integer ids (rows of the matrices); mapping real ids is the caller's job.

* Recency: each interaction counts 2^(-age / half_life); so does each post's exposure.
* alpha(u, t) is u's own interest in t: the share of u's (decayed) engagement that went to posts
  about t, X(u, t) / sum_t X(u, t) with X(u, t) = sum_c I(u, c) S(c, t), shrunk lightly toward a
  prior of `follower_prior` pseudo-interactions: the audience's engagement shares, mixed with what
  followers who share u's tags like (tag co-engagement). A follower with two comments gets
  sensible interests; one with twenty is described by their own history. alpha follows what the
  follower engages with, so a tag posted about often and engaged with often ranks high; the
  per-post view (what the next post on a tag can expect) is the audience ranking below.
* The audience ranking is a Gamma-Poisson model of engagement per post on each tag: the posterior
  mean is the expected engagement of the next post on that tag, its sd the uncertainty. Tags with
  fewer than `min_posts` posts are not ranked as winners; they are offered as experiments, ordered
  by Thompson sampling.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

DAY = 86_400.0


@dataclass(frozen=True)
class Interactions:
    """Parallel arrays: who (follower row) engaged with which post (row), how much, when (Unix s).

    A follower row of -1 marks anonymous engagement (reaction counts): it counts for the audience
    ranking but belongs to no follower.
    """

    follower: np.ndarray  # int, shape (n,)
    post: np.ndarray  # int, shape (n,)
    intensity: np.ndarray  # float >= 0, shape (n,)
    time: np.ndarray  # float Unix seconds, shape (n,)


@dataclass(frozen=True)
class TagScore:
    tag: int
    score: float  # expected engagement of a post on this tag (interaction intensity per post)
    sd: float  # posterior standard deviation of that
    posts: float  # decayed number of posts on the tag
    raw_posts: int  # posts on the tag, undecayed
    experiment: bool  # too few posts to judge: offered to learn more
    lift: float  # score / the channel's average per post
    reach: float  # share of active followers who engaged with the tag


@dataclass
class TagInterestModel:
    half_life_days: float = 30.0
    follower_prior: float = 3.0  # strength of the prior for alpha(u, t), in pseudo-interactions (benchmarked)
    audience_prior: float = 2.0  # strength of the prior for the audience rate, in decayed posts
    cooccurrence_weight: float = 0.3  # share of the follower prior from co-engaged tags
    min_posts: int = 3
    seed: int = 0
    # fitted state
    alpha: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    audience_rate: np.ndarray = field(default_factory=lambda: np.zeros(0))
    audience_sd: np.ndarray = field(default_factory=lambda: np.zeros(0))
    exposure: np.ndarray = field(default_factory=lambda: np.zeros(0))
    raw_posts: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    reach: np.ndarray = field(default_factory=lambda: np.zeros(0))
    activity: np.ndarray = field(default_factory=lambda: np.zeros(0))
    global_rate: float = 0.0

    def fit(self, interactions: Interactions, relevance: sp.csr_matrix | np.ndarray, post_time: np.ndarray,
            n_followers: int, now: float | None = None) -> TagInterestModel:
        """Learn alpha(u, t) and the audience model.

        relevance: S, shape (n_posts, n_tags), rows need not sum to 1 (a post about two tags is
        fully about each). post_time: (n_posts,) Unix seconds. n_followers: rows of alpha.
        """
        s = sp.csr_matrix(relevance, dtype=np.float64)
        n_posts, n_tags = s.shape
        now = float(now if now is not None else max(post_time.max(initial=0), interactions.time.max(initial=0)))
        lam = np.log(2) / (self.half_life_days * DAY)
        w = interactions.intensity * np.exp(-lam * np.clip(now - interactions.time, 0, None))
        named = interactions.follower >= 0
        # I(u, c), decayed; anonymous engagement goes to the audience totals only
        i_uc = sp.csr_matrix((w[named], (interactions.follower[named], interactions.post[named])),
                             shape=(n_followers, n_posts))
        anon_c = np.bincount(interactions.post[~named], weights=w[~named], minlength=n_posts)
        x_ut = (i_uc @ s).toarray()  # X(u, t)
        # posts after `now` were not seen yet: no exposure (and no interactions, by construction)
        post_decay = np.where(post_time <= now, np.exp(-lam * np.clip(now - post_time, 0, None)), 0.0)
        self.exposure = np.asarray(s.T @ post_decay).ravel()  # N(t)
        self.raw_posts = np.asarray((s > 0).sum(axis=0)).ravel().astype(int)

        # audience: Gamma-Poisson over engagement per post on t
        y_t = x_ut.sum(axis=0) + np.asarray(s.T @ anon_c).ravel()
        total_exposure = post_decay.sum()
        self.global_rate = float(y_t.sum() / max(self.exposure.sum(), 1e-9)) if total_exposure else 0.0
        shape = y_t + self.global_rate * self.audience_prior
        rate = self.exposure + self.audience_prior
        self.audience_rate = shape / rate
        self.audience_sd = np.sqrt(np.maximum(shape, 1e-12)) / rate

        # followers: own engagement shares shrunk toward (audience shares, mixed with co-engaged tags)
        self.activity = x_ut.sum(axis=1)
        active = self.activity > 0
        self.reach = (x_ut[active] > 0).mean(axis=0) if active.any() else np.zeros(n_tags)
        shares = y_t / y_t.sum() if y_t.sum() > 0 else np.full(n_tags, 1.0 / max(n_tags, 1))
        prior = np.tile(shares, (n_followers, 1))
        if self.cooccurrence_weight > 0 and active.sum() > 1:
            norm = x_ut / np.maximum(np.linalg.norm(x_ut, axis=0, keepdims=True), 1e-12)
            co = norm.T @ norm  # tag-tag cosine over followers (1 on the diagonal)
            profile = x_ut / np.maximum(self.activity[:, None], 1e-12)
            neighbour = profile @ co
            neighbour /= np.maximum(neighbour.sum(axis=1, keepdims=True), 1e-12)
            mix = self.cooccurrence_weight * active[:, None]
            prior = (1 - mix) * prior + mix * neighbour
        # (X + k * prior) / (sum X + k): rows sum to 1; thin histories lean on the prior
        k = self.follower_prior
        self.alpha = (x_ut + k * prior) / np.maximum(self.activity + k, 1e-12)[:, None]
        return self

    # ------------------------------------------------------------------ recommend
    def preference(self, relevance: sp.csr_matrix | np.ndarray) -> np.ndarray:
        """P(u, c) = sum_t alpha(u, t) S(c, t): shape (n_followers, n_posts)."""
        s = sp.csr_matrix(relevance)
        out: np.ndarray = np.asarray((s @ self.alpha.T).T)
        return out

    def recommend(self, follower: int, k: int = 5, exclude: np.ndarray | None = None) -> list[tuple[int, float]]:
        """The k tags with the highest alpha(u, t) for one follower: [(tag row, interest share 0..1)]."""
        scores = self.alpha[follower].copy()
        if exclude is not None:
            scores[exclude] = -np.inf
        top = np.argsort(-scores)[:k]
        return [(int(t), float(scores[t])) for t in top if np.isfinite(scores[t])]

    def group_tags(self, followers: Sequence[int], k: int = 3) -> list[tuple[int, float]]:
        """The k tags a group of followers engages with most (e.g. the askers of one question theme):
        [(tag row, mean alpha over the group, 0..1)], best first. Rows outside 0..n_followers-1 are skipped;
        an empty group gets []."""
        rows = np.array([f for f in followers if 0 <= f < self.alpha.shape[0]], dtype=int)
        if not len(rows):
            return []
        mean = self.alpha[rows].mean(axis=0)
        top = np.argsort(-mean, kind="stable")[:k]
        return [(int(t), float(mean[t])) for t in top]

    def audience(self, k: int = 5, n_experiments: int = 1) -> list[TagScore]:
        """Winners (enough posts, by expected engagement), then experiments (Thompson sampling)."""
        rng = np.random.default_rng(self.seed)
        judged = self.raw_posts >= self.min_posts
        mean_rate = self.global_rate or 1e-9

        def score(t: int, experiment: bool) -> TagScore:
            return TagScore(tag=t, score=float(self.audience_rate[t]), sd=float(self.audience_sd[t]),
                            posts=float(self.exposure[t]), raw_posts=int(self.raw_posts[t]),
                            experiment=experiment, lift=float(self.audience_rate[t] / mean_rate),
                            reach=float(self.reach[t]) if len(self.reach) else 0.0)

        winners = [int(t) for t in np.argsort(-self.audience_rate) if judged[t]][:k]
        candidates = np.where(~judged & (self.raw_posts > 0))[0]
        draws = rng.gamma(np.maximum(self.audience_rate[candidates] ** 2 / np.maximum(
            self.audience_sd[candidates] ** 2, 1e-12), 1e-6),
            np.maximum(self.audience_sd[candidates] ** 2 / np.maximum(self.audience_rate[candidates], 1e-12), 1e-12))
        experiments = [int(candidates[i]) for i in np.argsort(-draws)][:n_experiments]
        return [score(t, False) for t in winners] + [score(t, True) for t in experiments]

    def ranking(self, follower: int | None = None) -> np.ndarray:
        """Tag rows best first: for the audience (judged tags by expected engagement) or one follower."""
        scores = self.audience_rate if follower is None else self.alpha[follower]
        return np.argsort(-scores)


def explain(score: TagScore, name: str) -> str:
    """A plain-language reason built from the numbers."""
    if score.experiment:
        n = score.raw_posts
        return (f"#{name}: only {n} post{'s' if n != 1 else ''} so far with {score.score:.1f} interactions "
                f"per post (± {score.sd:.1f}) — too early to judge; post on it again to find out.")
    comparison = (f"{score.lift:.1f}× the channel average" if score.lift >= 1.05 else
                  "about the channel average" if score.lift > 0.95 else f"{score.lift:.1f}× the channel average")
    return (f"#{name}: {score.score:.1f} interactions per post (± {score.sd:.1f}) over {score.raw_posts} posts, "
            f"{comparison}; {score.reach * 100:.0f} % of active followers engaged with it.")

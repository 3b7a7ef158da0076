"""The tag-interest recommender and posting-time model on a simulated audience.

The audience is known: each follower has interests over tags (concentrated on one of several tag
clusters), an activity level (log-normal: many followers interact only a few times) and active
hours; a third of followers drift to another cluster halfway through. Posts carry one or two tags,
and the creator posts some tags far more than others (tag volumes drawn from a Dirichlet(0.7): a few
tags get most posts, as on real channels). Models are fitted on the first 100 days and judged on the
next 20 days' interactions:

* NDCG@3 of per-follower rankings, graded by each follower's future engagement shares (how much of
  their engagement in the test period went to each tag), against popularity (the audience's total
  engagement per tag) and recency, for all followers and for those with fewer than 5 training
  interactions;
* NDCG@3 of the audience ranking ("what to post next"), graded by the future engagement per post on
  each tag, against the same baselines;
* best-slot hit rate: is the predicted best hour of week among the 5 busiest of the held-out
  activity (with 1 week, 4 weeks and all training data; against raw argmax);
* fit time for 100 k and 1 M interactions.

    OMP_WAIT_POLICY=PASSIVE python benchmarks/topics_synthetic.py [--seeds 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from recsys.interest import Interactions, TagInterestModel
from recsys.timing import PostingTimeModel, hour_of_week

DAY = 86_400.0
T0 = 1_767_225_600.0  # 2026-01-01 00:00 UTC, a Thursday


SCENARIOS = {  # (Dirichlet concentration of tag volumes, interest in tags outside the follower's cluster)
    "clustered interests, uneven volumes": (0.7, 0.08),
    "broad interests, very uneven volumes": (0.3, 0.4),
}


def simulate(n_followers: int, n_tags: int = 24, days: int = 120, posts_per_day: int = 3,
             engagement: float = 0.02, seed: int = 0, volume_concentration: float = 0.7,
             off_cluster: float = 0.08) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    clusters = 4
    cluster_of_tag = np.arange(n_tags) % clusters

    def interests(cluster: np.ndarray) -> np.ndarray:
        base = np.where(cluster_of_tag[None, :] == cluster[:, None], 1.0, off_cluster)
        noisy = base * rng.gamma(2.0, 0.5, size=(len(cluster), n_tags))
        return noisy / noisy.sum(axis=1, keepdims=True)

    c_before = rng.integers(0, clusters, n_followers)
    c_after = np.where(rng.random(n_followers) < 1 / 3, rng.integers(0, clusters, n_followers), c_before)
    a_before, a_after = interests(c_before), interests(c_after)
    activity = rng.lognormal(-0.5, 1.2, n_followers)
    peak = rng.choice([8, 12, 19, 20, 21], size=n_followers, p=[0.15, 0.15, 0.3, 0.25, 0.15])

    n_posts = days * posts_per_day
    post_time = T0 + np.sort(rng.uniform(0, days * DAY, n_posts))
    tag_pop = rng.dirichlet(np.full(n_tags, volume_concentration))  # some tags get far more posts than others
    first = rng.choice(n_tags, n_posts, p=tag_pop)
    second = np.where(rng.random(n_posts) < 0.4, rng.choice(n_tags, n_posts, p=tag_pop), first)
    s = sp.csr_matrix((np.ones(2 * n_posts), (np.tile(np.arange(n_posts), 2), np.concatenate([first, second]))),
                      shape=(n_posts, n_tags))
    s.data[:] = 1.0  # a duplicated tag counts once
    s.sum_duplicates()
    s.data[:] = 1.0

    follower, post, when = [], [], []
    half = T0 + days / 2 * DAY
    s_dense = s.toarray()
    for c in range(n_posts):
        alpha = np.where(post_time[c] < half, 1.0, 0.0)[..., None] * a_before + \
            np.where(post_time[c] < half, 0.0, 1.0)[..., None] * a_after
        p = np.clip(engagement * activity * n_tags * (alpha @ s_dense[c]) / s_dense[c].sum(), 0, 0.95)
        who = np.where(rng.random(n_followers) < p)[0]
        # they respond at their active hour on the day of the post or the next
        day0 = np.floor((post_time[c] - T0) / DAY)
        t = T0 + (day0 + rng.integers(0, 2, len(who))) * DAY + (peak[who] + rng.normal(0, 1.0, len(who))) * 3600
        t = np.maximum(t, post_time[c] + 60)
        follower.append(who)
        post.append(np.full(len(who), c))
        when.append(t)
    return {"follower": np.concatenate(follower), "post": np.concatenate(post), "time": np.concatenate(when),
            "s": s, "post_time": post_time, "n_followers": np.array(n_followers)}


def ndcg_at(ranking: np.ndarray, relevance: np.ndarray, k: int = 3, candidates: np.ndarray | None = None) -> float:
    """NDCG@k of `ranking` restricted to `candidates` (the tags posted about in the test period)."""
    if candidates is not None:
        keep = set(candidates.tolist())
        ranking = np.array([t for t in ranking if t in keep], dtype=int)
        relevance = np.where(np.isin(np.arange(len(relevance)), candidates), relevance, 0.0)
    gains = relevance[ranking[:k]]
    discounts = 1 / np.log2(np.arange(2, k + 2))
    ideal = np.sort(relevance)[::-1][:k]
    best = float((ideal * discounts[: len(ideal)]).sum())
    return float((gains * discounts[: len(gains)]).sum() / best) if best > 0 else float("nan")


def evaluate(seed: int, scenario: tuple[float, float] = SCENARIOS["clustered interests, uneven volumes"],
             **model_args: float) -> dict[str, float]:
    sim = simulate(n_followers=1500, seed=seed, volume_concentration=scenario[0], off_cluster=scenario[1])
    cut = T0 + 100 * DAY
    train = sim["time"] < cut
    test = (sim["time"] >= cut) & (sim["post_time"][sim["post"]] >= cut)
    s, post_time, n_f = sim["s"], sim["post_time"], int(sim["n_followers"])
    inter = Interactions(sim["follower"][train], sim["post"][train], np.ones(train.sum()), sim["time"][train])
    model = TagInterestModel(half_life_days=21, **model_args).fit(inter, s, post_time, n_f, now=cut)  # type: ignore[arg-type]

    # held-out relevance: each follower's future engagement on each tag (NDCG only needs it up to scale,
    # so these are the follower's future engagement shares); the audience: future engagement per post
    future_posts = np.where(post_time >= cut)[0]
    s_future = s[future_posts]
    per_tag_posts = np.asarray(s_future.sum(axis=0)).ravel()
    i_test = sp.csr_matrix((np.ones(test.sum()), (sim["follower"][test], sim["post"][test])), shape=(n_f, s.shape[0]))
    rel = (i_test @ s).toarray()
    rel[:, per_tag_posts == 0] = 0.0
    candidates = np.where(per_tag_posts >= 2)[0]  # tags posted about (at least twice) in the test period

    # baselines from the training interactions
    i_train = sp.csr_matrix((np.ones(train.sum()), (sim["follower"][train], sim["post"][train])), shape=(n_f, s.shape[0]))
    x = (i_train @ s).toarray()
    popularity = np.argsort(-x.sum(axis=0))
    recent = sim["time"][train] >= cut - 14 * DAY
    i_recent = sp.csr_matrix((np.ones(recent.sum()), (sim["follower"][train][recent], sim["post"][train][recent])),
                             shape=(n_f, s.shape[0]))
    x_recent = (i_recent @ s).toarray()

    counts = np.asarray(i_train.sum(axis=1)).ravel()
    results: dict[str, list[float]] = {}
    audience_rel = rel.sum(axis=0) / np.maximum(per_tag_posts, 1)
    results["audience: model"] = [ndcg_at(model.ranking(), audience_rel, candidates=candidates)]
    results["audience: popularity"] = [ndcg_at(popularity, audience_rel, candidates=candidates)]
    results["audience: recency (14 d)"] = [ndcg_at(np.argsort(-x_recent.sum(axis=0)), audience_rel,
                                                   candidates=candidates)]
    for u in range(n_f):
        if rel[u][candidates].sum() == 0:
            continue
        group = "sparse (<5)" if counts[u] < 5 else "all"
        for name, ranking in (("model", model.ranking(u)), ("popularity", popularity),
                              ("recency", np.lexsort((-x.sum(axis=0), -x_recent[u])))):
            value = ndcg_at(ranking, rel[u], candidates=candidates)
            results.setdefault(f"followers {group}: {name}", []).append(value)
            if group != "all":
                results.setdefault(f"followers all: {name}", []).append(value)
    out = {k: float(np.nanmean(v)) for k, v in results.items()}
    out["followers with held-out interactions"] = float(sum(rel.sum(axis=1) > 0))
    out["of them sparse (<5 training interactions)"] = float(sum((rel.sum(axis=1) > 0) & (counts < 5)))

    # best slot: predicted top hour of week within the 5 busiest held-out hours?
    tz = ZoneInfo("UTC")
    held = np.bincount(hour_of_week(sim["time"][sim["time"] >= cut], tz), minlength=168)
    top5 = set(np.argsort(-held)[:5])
    for weeks in (1, 4, 14):
        window = train & (sim["time"] >= cut - weeks * 7 * DAY)
        times = sim["time"][window]
        pt = PostingTimeModel(tz=tz).fit(times)
        raw = np.bincount(hour_of_week(times, tz), minlength=168)
        out[f"best slot hit, {weeks} wk data: model"] = float(pt.best_hours(1)[0][0] in top5)
        out[f"best slot hit, {weeks} wk data: raw argmax"] = float(int(np.argmax(raw)) in top5)
    return out


def fit_time(n_interactions: int, seed: int = 0) -> float:
    rng = np.random.default_rng(seed)
    n_f, n_p, n_t = max(1000, n_interactions // 50), 2000, 200
    s = sp.random(n_p, n_t, density=0.01, random_state=seed, format="csr")
    s.data[:] = 1.0
    inter = Interactions(rng.integers(0, n_f, n_interactions), rng.integers(0, n_p, n_interactions),
                         rng.uniform(1, 3, n_interactions), T0 + rng.uniform(0, 365 * DAY, n_interactions))
    post_time = T0 + np.sort(rng.uniform(0, 365 * DAY, n_p))
    t = time.perf_counter()
    TagInterestModel().fit(inter, s, post_time, n_f, now=T0 + 365 * DAY)
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--follower-prior", type=float, help="override the model's default (tuning)")
    parser.add_argument("--cooccurrence-weight", type=float, help="override the model's default (tuning)")
    args = parser.parse_args()
    overrides = {k: v for k, v in (("follower_prior", args.follower_prior),
                                   ("cooccurrence_weight", args.cooccurrence_weight)) if v is not None}
    print(f"# simulated audience: 1500 followers, 24 tags in 4 clusters, 360 posts over 120 days; "
          f"fit on days 0-100, judged on days 100-120; {args.seeds} seeds (mean)")
    for name, scenario in SCENARIOS.items():
        runs = [evaluate(seed, scenario, **overrides) for seed in range(args.seeds)]
        print(f"## {name} (tag volumes ~ Dirichlet({scenario[0]}), off-cluster interest {scenario[1]})")
        for key in runs[0]:
            if "slot" in key and name != next(iter(SCENARIOS)):
                continue  # posting time does not depend on the tags
            values = [r[key] for r in runs if key in r]
            fmt = "{:8.0f}" if "followers with" in key or "of them" in key else "{:8.3f}"
            print(f"{key:48s}" + fmt.format(float(np.mean(values))))
    for n in (100_000, 1_000_000):
        times = [fit_time(n, seed) for seed in range(2)]
        print(f"{'fit seconds, ' + format(n, ',') + ' interactions':48s}{min(times):8.2f}")


if __name__ == "__main__":
    main()

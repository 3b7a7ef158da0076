"""The FAQ matcher's second stage: pairwise features of the head's top entries, the scorer, the re-ordering."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nlp.faq_rerank import N_PAIR, NEAREST, fit_scorer, pair_features, rerank
from nlp.lexical import Lexical, Similarities


def _case() -> tuple[np.ndarray, np.ndarray, np.ndarray, Similarities]:
    """One question; the head prefers entry 0, but the question is almost an example of entry 1."""
    probs = np.array([[0.5, 0.3, 0.2]])
    train_y = np.array([0, 0, 1, 1, 2])
    sims = np.array([[0.4, 0.3, 0.97, 0.5, 0.1]])
    chars = np.array([[0.1, 0.0, 0.9, 0.2, 0.0]])
    words = np.array([[0.0, 0.2, 0.5, 0.0, 0.0]])
    return probs, sims, train_y, Similarities(chars, words)


def test_pair_features_describe_each_candidate_against_its_own_examples() -> None:
    cands, feats = pair_features(*_case())
    assert cands.tolist() == [[0, 1, 2]] and feats.shape == (1, 3, N_PAIR)
    first, second = feats[0, 0], feats[0, 1]
    assert first[1] == 1.0 and second[1] == 0.0  # which one the head put first
    assert first[2] == np.float32(0.4) and second[2] == np.float32(0.97)  # nearest own example
    assert second[3] == np.float32((0.97 + 0.5) / 2)  # mean of (up to) three nearest
    assert first[5] == np.float32(0.4 - 0.97) and second[5] == np.float32(0.97 - 0.4)  # gap to any other entry
    assert second[6] == np.float32(0.9) and second[7] == np.float32(0.9 - 0.1)  # characters: nearest, gap
    assert first[8] == np.float32(0.2) and second[8] == np.float32(0.5)  # words shared with the nearest


def test_a_scorer_learned_from_held_out_questions_can_overrule_the_head() -> None:
    rng = np.random.default_rng(0)
    feats, right = [], []
    for _ in range(200):  # held-out questions whose right entry is the one with the nearest example, not the head's
        probs = rng.dirichlet(np.ones(4))[None, :]
        train_y = np.repeat(np.arange(4), 3)
        sims = rng.uniform(0.1, 0.6, size=(1, 12))
        answer = int(rng.integers(4))
        sims[0, answer * 3] = 0.95
        cands, f = pair_features(probs, sims, train_y, Similarities(np.zeros_like(sims), np.zeros_like(sims)))
        feats.append(f)
        right.append(cands == answer)
    scorer = fit_scorer(feats, right)
    assert len(scorer) == N_PAIR + 1 and scorer[2] > 0  # a near example of the candidate counts for it
    ranked, conf = rerank(*pair_features(*_case()), scorer)
    assert ranked[0, 0] == 1 and ranked[0, 1] == 0
    assert conf.shape == (1, 2 + N_PAIR) and conf[0, 1] > 0 and conf[0, NEAREST] == np.float32(0.97)


def test_an_untrained_scorer_keeps_the_heads_order_and_probability() -> None:
    assert fit_scorer([np.zeros((3, 2, N_PAIR))], [np.zeros((3, 2), dtype=bool)]) == [0.0] * (N_PAIR + 1)
    ranked, conf = rerank(*pair_features(*_case()), [0.0] * (N_PAIR + 1))
    assert ranked[0].tolist() == [0, 1, 2] and conf[0, 0] == np.float32(0.5)


def test_lexical_views_match_words_the_encoder_may_blur(tmp_path: Path) -> None:
    lexical = Lexical.of(["wake me up at 7", "turn the lights off", "turn the lights on"])
    chars, words = lexical.similarities(["please wake me at 7", "Lights OFF please"])
    assert chars.shape == words.shape == (2, 3) and chars[0].argmax() == 0 and chars[1].argmax() == 1
    assert words[1].tolist() == pytest.approx([0.0, 2 / 5, 1 / 6])  # {lights, off} of {turn, the, lights, off, please}
    same = lexical.between(np.array([0]), np.array([0, 1]))
    assert np.isclose(same.chars[0, 0], 1.0) and same.words[0].tolist() == [1.0, 0.0]
    lexical.save(tmp_path / "lexical.npz")
    again = Lexical.load(tmp_path / "lexical.npz").similarities(["Lights OFF please"])
    assert np.allclose(again.chars, chars[1:]) and np.allclose(again.words, words[1:])


def test_hashed_counts_are_scikit_learns_hashing_vectorizer() -> None:
    """Saved versions hold counts hashed by scikit-learn; the bot now hashes questions itself, identically."""
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import HashingVectorizer

    from nlp.lexical import N_FEATURES, counts

    texts = ["Which tripod do you use?", "  turn   the lights OFF\tplease ", "你用的是什么无人机？", "a", "",
             "Café naïve x—y 7am", "I", "ok ok ok"]
    chars = HashingVectorizer(analyzer="char_wb", ngram_range=(3, 5), n_features=N_FEATURES, alternate_sign=False,
                              norm=None)
    words = HashingVectorizer(analyzer="word", token_pattern=r"(?u)\b\w+\b", n_features=N_FEATURES, binary=True,
                              alternate_sign=False, norm=None)
    reference = hstack([chars.transform(texts), words.transform(texts)]).tocsr()
    mine = counts(texts)
    assert mine.shape == reference.shape and mine.nnz == reference.nnz and abs(reference - mine).max() == 0


def test_answering_with_a_saved_rerank_version_never_imports_scikit_learn(tmp_path: Path) -> None:
    """scikit-learn trains; the bot that only answers stays about 70 MB smaller without it."""
    import subprocess
    import sys

    from nlp.faq import FaqMatcher
    from nlp.faq_data import FaqEntry
    from tests.fakes import HashingEncoder

    entries = [FaqEntry("a", "A", ["turn the lights off", "lights off please", "switch off the lamp"]),
               FaqEntry("b", "B", ["turn the lights on", "lights on please", "switch on the lamp"]),
               FaqEntry("c", "C", ["wake me up at 7", "set an alarm for 7", "alarm at seven"])]
    FaqMatcher.fit(entries, HashingEncoder(), signals="rerank").save(tmp_path / "v1")
    code = ("import sys; from nlp.faq import FaqMatcher; from tests.fakes import HashingEncoder; "
            f"m = FaqMatcher.load({str(tmp_path / 'v1')!r}, HashingEncoder()); "
            "print(m.match(['please turn the lights off'])[0].entry_id, 'sklearn' in sys.modules)")
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["a", "False"]


def test_the_idf_kept_for_the_examples_n_grams_only_equals_the_full_table() -> None:
    from nlp.lexical import N_FEATURES, counts

    examples = ["wake me up at 7", "turn the lights off", "turn the lights on", "wake up"]
    lexical = Lexical.of(examples)
    chars = counts(examples)[:, :N_FEATURES].tocsr()
    df = np.bincount(chars.indices, minlength=N_FEATURES)
    full = np.log((1 + len(examples)) / (1 + df)) + 1.0  # the dense table it replaces (2 MB per language)
    asked = counts(["lights off", "zzz qqq"])[:, :N_FEATURES].tocsr().indices  # seen and unseen n-grams
    assert np.array_equal(lexical.idf(asked), full[asked])
    assert lexical.idf_features.nbytes + lexical.idf_values.nbytes < 20_000

"""Two encoders as one (ConcatEncoder), the per-encoder ensemble head and the richer confidence signals (issue 22)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from nlp.encoder import ConcatEncoder
from nlp.faq import EnsembleHead, FaqMatcher
from nlp.faq_data import load_faq
from tests.fakes import HashingEncoder

SAMPLE = Path(__file__).resolve().parents[2] / "bot" / "demo_data" / "faq.yaml"


def two() -> ConcatEncoder:
    return ConcatEncoder([HashingEncoder(), HashingEncoder(dim=256, multilingual=True)])


def test_concat_encoder_is_normalised_and_named_after_its_parts() -> None:
    enc = two()
    x = enc.encode(["which tripod do you use", "what camera"])
    assert x.shape == (2, 1024 + 256) and enc.dims == [1024, 256]
    assert np.allclose(np.linalg.norm(x, axis=1), 1.0, atol=1e-5)
    assert enc.name == "hashing-fake+multilingual-e5-small"
    assert enc.unknown_share("hello") == 0.0


@pytest.mark.parametrize(("head", "signals"), [("ensemble", "rich"), ("ensemble", "basic"), ("lr", "rich"),
                                               ("lr", "wide")])
def test_ensemble_fit_match_save_load(tmp_path: Path, head: str, signals: str) -> None:
    matcher = FaqMatcher.fit(load_faq(SAMPLE), two(), head=head, signals=signals)
    assert matcher.meta.head == head and matcher.calibration.signals == signals
    assert isinstance(matcher.head, EnsembleHead) == (head == "ensemble")
    assert len(matcher.calibration.coef) == {"basic": 3, "rich": 6, "wide": 11}[signals]
    known, unrelated = matcher.match(["which tripod do you use for hiking?", "do you like pineapple pizza"])
    assert known.entry_id == "tripod" and not known.handoff
    assert unrelated.handoff
    matcher.save(tmp_path / "v1")
    again = FaqMatcher.load(tmp_path / "v1", two())
    assert again.meta.blocks == matcher.meta.blocks
    assert again.match(["which tripod do you use for hiking?"])[0].confidence == pytest.approx(known.confidence, rel=1e-3)


def test_ensemble_head_needs_blocks_else_plain_lr() -> None:
    matcher = FaqMatcher.fit(load_faq(SAMPLE), HashingEncoder(), head="ensemble")
    assert matcher.meta.head == "lr" and matcher.meta.blocks == []


def test_unknown_head_is_refused() -> None:
    with pytest.raises(ValueError):
        FaqMatcher.fit(load_faq(SAMPLE), HashingEncoder(), head="forest")


def test_a_model_saved_before_issue_22_still_loads(tmp_path: Path) -> None:
    matcher = FaqMatcher.fit(load_faq(SAMPLE), HashingEncoder(), signals="basic")  # what was trained before
    matcher.save(tmp_path / "old")
    meta = json.loads((tmp_path / "old" / "meta.json").read_text())
    for key in ("head", "blocks"):
        meta.pop(key)
    for key in ("signals", "rerank"):
        meta["calibration"].pop(key)
    (tmp_path / "old" / "meta.json").write_text(json.dumps(meta))
    with np.load(tmp_path / "old" / "head.npz") as data:
        np.savez(tmp_path / "old" / "head.npz", **{k: data[k] for k in ("weights", "bias", "examples", "example_rows")})
    old = FaqMatcher.load(tmp_path / "old", HashingEncoder())
    q = ["which tripod do you use for hiking?"]
    assert old.match(q)[0].confidence == pytest.approx(matcher.match(q)[0].confidence, rel=1e-3)


def test_factory_trains_the_english_faq_on_both_encoders_and_loads_it_back(tmp_path: Path) -> None:
    from nlp.model_factory import COMBINED, FAQ_ENCODER, ModelFactory

    built: list[str] = []

    def encoders(name: str) -> HashingEncoder:
        built.append(name)
        return HashingEncoder(multilingual=name == "multilingual-e5-small")

    assert ModelFactory(tmp_path, encoder_factory=encoders).faq_encoder == FAQ_ENCODER  # type: ignore[arg-type]
    models = ModelFactory(tmp_path, encoder_factory=encoders, faq_encoder=COMBINED)  # type: ignore[arg-type]
    assert models.faq_encoder == "all-MiniLM-L6-v2+multilingual-e5-small"
    matcher = models.fit_faq(load_faq(SAMPLE))
    assert matcher.meta.base_model == "hashing-fake+multilingual-e5-small"
    assert sorted(built) == ["all-MiniLM-L6-v2", "multilingual-e5-small"]  # the parts are the shared encoders
    matcher.save(tmp_path / "v1")
    again = ModelFactory(tmp_path, encoder_factory=lambda name: HashingEncoder(  # type: ignore[arg-type,return-value]
        multilingual=name == "multilingual-e5-small")).load_faq(tmp_path / "v1")
    q = ["which tripod do you use for hiking?"]
    assert again.match(q)[0].entry_id == "tripod"
    assert again.match(q)[0].confidence == pytest.approx(matcher.match(q)[0].confidence, rel=1e-3)
    alone = ModelFactory(tmp_path, encoder_factory=encoders)  # type: ignore[arg-type]  # the default: MiniLM
    assert alone.fit_faq(load_faq(SAMPLE)).meta.base_model == "hashing-fake"


def test_mpnet_needs_its_packages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from nlp import encoder

    monkeypatch.setattr(encoder, "MPNET_PARTS", ("creatorbot-no-such-package-part-001",))
    with pytest.raises(encoder.ModelNotFound, match="pip install"):
        encoder.mpnet_model_dir(tmp_path)

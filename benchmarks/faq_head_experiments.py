"""Top-1 accuracy (in scope, 10 per intent) of cheap head variants on cached embeddings (issue 22, what was tried).

Same samples as benchmarks/faq_matchers.py (seeds 0 and 1); no calibration, just the argmax: the plain logistic
regression (the shipped head), nearest example (kNN), LR mixed with a kNN distribution (a * softmax(max similarity
per entry / 0.05) + (1 - a) * LR), and LR on the embedding with character 2-4-gram TF-IDF features appended
(weight 0.5).

    OMP_WAIT_POLICY=PASSIVE python benchmarks/faq_head_experiments.py banking77 minilm,mpnet,minilm+mpnet
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from faq_encoders import cached, read  # noqa: E402
from faq_matchers import sample  # noqa: E402

from nlp.faq import LinearHead, _softmax  # noqa: E402


def main() -> None:
    from scipy.sparse import csr_matrix, hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    folder, names = sys.argv[1], sys.argv[2].split(",")
    tr, te = read(folder, "train"), read(folder, "test")
    for seed in range(2):
        entries, held = sample(tr, 10, 0.15, seed)
        ids = [e.id for e in entries]
        xs = [q for e in entries for q in e.questions]
        y = np.array([i for i, e in enumerate(entries) for _ in e.questions])
        keep = [i for i, c in enumerate(te[1]) if c not in held]
        tq, ty = [te[0][i] for i in keep], np.array([ids.index(te[1][i]) for i in keep])
        res: dict[str, float] = {}
        for name in names:
            enc = cached(name, folder)
            x, t = enc.encode(xs), enc.encode(tq)
            p = _softmax(LinearHead.fit(x, y, len(ids)).logits(t))
            res[name] = float((p.argmax(1) == ty).mean())
            sims = t @ x.T
            knn = np.stack([sims[:, y == c].max(1) for c in range(len(ids))], 1)
            res[f"{name} knn"] = float((knn.argmax(1) == ty).mean())
            for a in (0.3, 0.5):
                res[f"{name} lr+knn a={a}"] = float((((1 - a) * p + a * _softmax(knn / 0.05)).argmax(1) == ty).mean())
            v = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True).fit(xs)
            big = hstack([csr_matrix(x), v.transform(xs) * 0.5]).tocsr()
            clf = LogisticRegression(C=10, max_iter=3000).fit(big, y)
            res[f"{name} +tfidf"] = float((clf.predict(hstack([csr_matrix(t), v.transform(tq) * 0.5]).tocsr()) == ty).mean())
        print(folder, seed, {k: round(v * 100, 1) for k, v in res.items()}, flush=True)


if __name__ == "__main__":
    main()

"""Train the safety classifier's learned layer (edge_server/domain/safety_model.py) and measure how it generalises.

Training data: the exemplar banks shipped beside the classifier (edge_server/domain/safety_exemplars*.jsonl) and the
bench's labelled sets, which have all been used for tuning (bench/data/safety/all.jsonl = dev + test, final.jsonl,
and heldout2.jsonl, the second blind set, after it had been run once). The current blind set lives outside the
repository until it has been run, and is never read here.

Cross-validation is grouped by source file, so that no figure comes from a file the model was trained on:
fold "final" trains on the banks + all.jsonl and is scored on final.jsonl; fold "all" trains on the banks +
final.jsonl and is scored on all.jsonl. Inside each fold the refusal threshold is chosen on out-of-fold
probabilities of that fold's training bench items (3 inner folds), never on the scored file. The figures use the same
decision as the companion (safety.decide: tellings of harm and intent rules first, then the learned layer).

Then the shipped model is trained on everything, its threshold chosen the same way (out-of-fold over every bench
item), and written to edge_server/domain/safety_model.npz. Deterministic: zero initial weights, full-batch Adam,
a fixed number of steps; sentence vectors are cached under $XDG_CACHE_HOME (or ~/.cache)/classroom-box-safety.

    python -m bench.safety_train [--cv-only] [--fold final|all] [--json]

Settings (chosen on the "final" fold's recall at <= 2 false refusals per language, so that fold's figure is a little
optimistic): 300 Adam steps, L2 1e-4 on both weight blocks, safe and unsafe items weighed alike. For comparing
settings: SAFETY_TRAIN_STEPS, SAFETY_L2_DENSE, SAFETY_L2_GRAMS, SAFETY_SAFE_WEIGHT; SAFETY_QUICK=1 skips the
threshold search; SAFETY_DUMP=path writes the scored file's probabilities (labels only, no texts).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.report import emit

ROOT = Path(__file__).resolve().parent.parent
DOMAIN = ROOT / "edge_server" / "domain"
DATA = Path(__file__).parent / "data" / "safety"
LANGS = ("en", "fr", "zh")
STEPS = int(os.environ.get("SAFETY_TRAIN_STEPS", 300))
LEARNING_RATE = 0.1
L2_DENSE = float(os.environ.get("SAFETY_L2_DENSE", 1e-4))
L2_GRAMS = float(os.environ.get("SAFETY_L2_GRAMS", 1e-4))
SAFE_WEIGHT = float(os.environ.get("SAFETY_SAFE_WEIGHT", 1.0))
# the threshold aims a little under 1 in 30 on out-of-fold items: a new set is a little harder than the tuning data
FALSE_REFUSAL_AIM = 0.02
NEAR_COPY = 0.5


@dataclass
class Data:
    items: list[dict[str, Any]]
    dense: np.ndarray
    rows: np.ndarray  # n-gram (row, bucket) pairs
    cols: np.ndarray
    y: np.ndarray
    told: np.ndarray
    rules: list[tuple[list[str], list[str]]]  # per item: (told, strong) as safety.assess reads them
    order: np.ndarray | None = None  # the n-gram pairs sorted by bucket (computed once per training run)

    def subset(self, index: np.ndarray) -> Data:
        keep = np.isin(self.rows, index)
        remap = np.full(len(self.items), -1)
        remap[index] = np.arange(len(index))
        return Data([self.items[i] for i in index], self.dense[index], remap[self.rows[keep]], self.cols[keep],
                    self.y[index], self.told[index], [self.rules[i] for i in index])


def read(path: Path, source: str) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [{**r, "source": source} for r in rows]


def load_items() -> list[dict[str, Any]]:
    """Every labelled text: the shipped banks, then all.jsonl and final.jsonl."""
    items: list[dict[str, Any]] = []
    for path in sorted(DOMAIN.glob("safety_exemplars*.jsonl")):
        items += read(path, "bank")
    items += read(DATA / "all.jsonl", "all") + read(DATA / "final.jsonl", "final")
    return items + read(DATA / "heldout2.jsonl", "heldout2")  # used once as a blind set, then trained on


def vectors(texts: list[str]) -> np.ndarray:
    """USE vectors of clean() texts, cached on disk by text."""
    from edge_server.domain.safety_normalise import clean

    cache_dir = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "classroom-box-safety"
    cache_dir.mkdir(parents=True, exist_ok=True)
    cache_file = cache_dir / "use-vectors.npz"
    cache: dict[str, np.ndarray] = {}
    if cache_file.exists():
        with np.load(cache_file) as z:
            cache = {k: z[k] for k in z.files}
    cleaned = [clean(t) for t in texts]
    keys = [hashlib.sha1(t.encode("utf-8")).hexdigest() for t in cleaned]
    missing = sorted({k: t for k, t in zip(keys, cleaned, strict=True) if k not in cache}.items())
    if missing:
        from models.embed import Embedder

        embed = Embedder().embed
        for i in range(0, len(missing), 256):
            part = missing[i:i + 256]
            for (k, _), v in zip(part, embed([t for _, t in part]), strict=True):
                cache[k] = v
        np.savez(cache_file, **cache)
    return np.stack([cache[k] for k in keys])


def featurise(items: list[dict[str, Any]]) -> Data:
    from edge_server.domain import safety, safety_model

    vecs = vectors([it["text"] for it in items])
    dense, rows, cols, rules = [], [], [], []
    for i, (item, v) in enumerate(zip(items, vecs, strict=True)):
        x = safety_model.features(item["text"], v)
        dense.append(x.dense)
        rows += [i] * len(x.buckets)
        cols += list(x.buckets)
        rules.append(safety.rule_view(item["text"]))
    if os.environ.get("SAFETY_EXPERIMENT") == "no-rule-features":
        for row in dense:
            row[safety_model.DIM:] = 0
    if os.environ.get("SAFETY_EXPERIMENT") == "no-grams":
        rows, cols = [], []
    y = np.array([safety_model.LABELS.index(it["label"]) for it in items])
    told = np.array([float(bool(it.get("disclosure"))) for it in items])
    return Data(items, np.stack(dense), np.array(rows, dtype=np.int64), np.array(cols, dtype=np.int64), y, told, rules)


def _segment_sums(values: np.ndarray, keys: np.ndarray, size: int) -> np.ndarray:
    """Per key in range(size), the sum of the rows of `values` with that key (keys sorted ascending)."""
    total = np.vstack([np.zeros((1, values.shape[1])), np.cumsum(values, axis=0)])
    bounds = np.searchsorted(keys, np.arange(size + 1))
    return total[bounds[1:]] - total[bounds[:-1]]


def _gather(d: Data, grams: np.ndarray) -> np.ndarray:
    """Per item, the sum of its buckets' rows of `grams` (a sparse matrix product; d.rows is sorted)."""
    return _segment_sums(grams[d.cols], d.rows, len(d.items))


def _scatter(d: Data, g: np.ndarray, buckets: int) -> np.ndarray:
    """The transpose of _gather: per bucket, the sum of its items' rows of `g`."""
    order = d.order if d.order is not None else np.argsort(d.cols, kind="stable")
    return _segment_sums(g[d.rows[order]], d.cols[order], buckets)


def train(d: Data, threshold: float = 0.5, veto: float = 1.01) -> Any:
    """Softmax + disclosure head, full-batch Adam from zero."""
    from edge_server.domain import safety_model

    d = Data(d.items, d.dense.astype(np.float64), d.rows, d.cols, d.y, d.told, d.rules,
             np.argsort(d.cols, kind="stable"))
    n, f = d.dense.shape
    k = len(safety_model.LABELS)
    weight = np.where(d.y == 0, SAFE_WEIGHT, 1.0)
    weight = weight / weight.sum()
    onehot = np.eye(k)[d.y]
    params = [np.zeros((f, k)), np.zeros((safety_model.NGRAM_BUCKETS, k)), np.zeros(k),
              np.zeros(f), np.zeros(safety_model.NGRAM_BUCKETS), np.zeros(1)]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    for step in range(1, STEPS + 1):
        wd, wg, b, td, tg, tb = params
        logits = d.dense @ wd + b + _gather(d, wg)
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        g = (p - onehot) * weight[:, None]
        z = d.dense @ td + tb[0]
        z += _gather(d, tg[:, None])[:, 0]
        q = 1 / (1 + np.exp(-z))
        gt = (q - d.told) * weight
        grad_wg = _scatter(d, g, len(wg))
        grad_tg = _scatter(d, gt[:, None], len(tg))[:, 0]
        grads = [d.dense.T @ g + L2_DENSE * wd, grad_wg + L2_GRAMS * wg, g.sum(axis=0),
                 d.dense.T @ gt + L2_DENSE * td, grad_tg + L2_GRAMS * tg, np.array([gt.sum()])]
        for i, (p_, g_) in enumerate(zip(params, grads, strict=True)):
            m[i] = 0.9 * m[i] + 0.1 * g_
            v[i] = 0.999 * v[i] + 0.001 * g_ * g_
            p_ -= LEARNING_RATE * (m[i] / (1 - 0.9 ** step)) / (np.sqrt(v[i] / (1 - 0.999 ** step)) + 1e-8)
    wd, wg, b, td, tg, tb = params
    return safety_model.Model(wd.astype(np.float32), wg.astype(np.float32), b.astype(np.float32),
                              td.astype(np.float32), tg.astype(np.float32), float(tb[0]), threshold, veto)


def predict_all(model: Any, d: Data) -> list[Any]:
    """Model.predict for every item at once (the same arithmetic, batched)."""
    return _predict(model, d)


def _predict(model: Any, d: Data) -> list[Any]:
    """Model.predict for every item at once (the same arithmetic, batched)."""
    from edge_server.domain import safety_model

    n = len(d.items)
    logits = d.dense @ model.dense + model.bias + _gather(d, model.grams)
    logits -= logits.max(axis=1, keepdims=True)
    p = np.exp(logits)
    p /= p.sum(axis=1, keepdims=True)
    z = d.dense @ model.told_dense + model.told_bias
    z += np.bincount(d.rows, weights=model.told_grams[d.cols], minlength=n)
    q = 1 / (1 + np.exp(-z))
    return [safety_model.Probabilities(dict(zip(safety_model.LABELS, map(float, p[i]), strict=True)), float(q[i]))
            for i in range(n)]


def decisions(d: Data, probs: list[Any], threshold: float, veto: float) -> list[tuple[str | None, bool]]:
    from edge_server.domain import safety

    return [safety.decide(told, strong, p, threshold, veto) for (told, strong), p in zip(d.rules, probs, strict=True)]


def choose_threshold(d: Data, probs: list[Any]) -> tuple[float, float]:
    """(threshold, veto) refusing the most unsafe bench items while false refusals of safe ones stay within
    FALSE_REFUSAL_AIM in every language (the rules' own false refusals count too); ties: the lower threshold."""
    p_safe = np.array([p.labels["safe"] for p in probs])
    told = np.array([bool(t) for t, _ in d.rules])
    strong = np.array([bool(s) for _, s in d.rules])
    unsafe = d.y != 0
    langs = np.array([it["language"] for it in d.items])
    best, best_recall = (0.0, 1.01), -1
    for veto in (0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99, 1.01):
        for t in np.round(np.arange(0.02, 0.99, 0.01), 2):
            refused = ((told | strong) & (p_safe < veto)) | (p_safe < t)
            if any(refused[~unsafe & (langs == lg)].sum() > FALSE_REFUSAL_AIM * (~unsafe & (langs == lg)).sum()
                   for lg in LANGS):
                continue
            recall = int(refused[unsafe].sum())
            if recall > best_recall:
                best, best_recall = (float(t), veto), recall
    return best


def out_of_fold(d: Data, bench: np.ndarray, folds: int = 3) -> list[Any]:
    """Probabilities for the bench items in `bench`, each from a model trained without its inner fold."""
    probs: dict[int, Any] = {}
    order = bench[np.random.default_rng(7).permutation(len(bench))]
    for f in range(folds):
        held = np.sort(order[f::folds])
        keep = _without(d, held)
        model = train(d.subset(keep))
        for i, p in zip(held, predict_all(model, d.subset(held)), strict=True):
            probs[int(i)] = p
    return [probs[int(i)] for i in bench]


def score(d: Data, decided: list[tuple[str | None, bool]]) -> dict[str, Any]:
    """Recall per language and category, false refusals per language, disclosures, as bench/safety.py reports."""
    unsafe: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    safe: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    told = [0, 0]
    for item, (category, disclosure) in zip(d.items, decided, strict=True):
        lang, label = item["language"], item["label"]
        if label == "safe":
            safe[lang][0] += category is not None
            safe[lang][1] += 1
        else:
            cell = unsafe[(label, lang)]
            cell[0] += category is not None
            cell[1] += category == label
            cell[2] += 1
            if item.get("disclosure"):
                told[0] += disclosure
                told[1] += 1
    rate = lambda a, b: round(a / b, 3) if b else None  # noqa: E731
    by_language = {lang: {"recall": rate(sum(v[0] for (c, lg), v in unsafe.items() if lg == lang),
                                         sum(v[2] for (c, lg), v in unsafe.items() if lg == lang)),
                          "safe_refused": f"{safe[lang][0]}/{safe[lang][1]}"} for lang in LANGS}
    cats = sorted({c for c, _ in unsafe})
    by_category = {c: {"recall": rate(sum(unsafe[(c, lg)][0] for lg in LANGS), sum(unsafe[(c, lg)][2] for lg in LANGS)),
                       "right": rate(sum(unsafe[(c, lg)][1] for lg in LANGS), sum(unsafe[(c, lg)][2] for lg in LANGS)),
                       **{lg: rate(unsafe[(c, lg)][0], unsafe[(c, lg)][2]) for lg in LANGS}} for c in cats}
    return {"by_language": by_language, "by_category": by_category, "disclosure_recall": rate(*told),
            "disclosures": told[1]}


def _trigrams(text: str) -> set[str]:
    s = "".join(ch for ch in unicodedata.normalize("NFKC", text).lower() if ch.isalnum())
    return {s[i:i + 3] for i in range(max(1, len(s) - 2))}


def near_copies(items: list[dict[str, Any]]) -> dict[int, set[int]]:
    """Per bank item, the bench items it (nearly) copies (character-trigram Jaccard >= NEAR_COPY): some exemplars
    were written after those sets had been read, so a figure for a bench item must come from a model trained without
    its near copies too. Keys and values are positions in `items`."""
    grams = [_trigrams(it["text"]) for it in items]
    index: dict[str, set[int]] = defaultdict(set)
    for i, it in enumerate(items):
        if it["source"] != "bank":
            for g in grams[i]:
                index[g].add(i)
    copies: dict[int, set[int]] = {}
    for i, it in enumerate(items):
        if it["source"] != "bank":
            continue
        shared: dict[int, int] = defaultdict(int)
        for g in grams[i]:
            for j in index.get(g, ()):
                shared[j] += 1
        near = {j for j, n in shared.items() if n / len(grams[i] | grams[j]) >= NEAR_COPY}
        if near:
            copies[i] = near
    return copies


def _without(d: Data, held: np.ndarray) -> np.ndarray:
    """Every item but `held` and the bank's near copies of them."""
    held_ids = {d.items[i]["position"] for i in held}
    out = [i for i, it in enumerate(d.items)
           if it["position"] not in held_ids and not (it.get("copies", set()) & held_ids)]
    return np.array(out, dtype=np.int64)


def fold(d: Data, scored: str) -> dict[str, Any]:
    """Train without the `scored` file (and the bank's near copies of it), choose the threshold out-of-fold on the
    other bench file, score `scored`."""
    sources = np.array([it["source"] for it in d.items])
    train_index = _without(d, np.flatnonzero(sources == scored))
    copies = int((sources != scored).sum() - len(train_index))
    test_index = np.flatnonzero(sources == scored)
    tr = d.subset(train_index)
    bench = np.flatnonzero(np.array([it["source"] for it in tr.items]) != "bank")
    if os.environ.get("SAFETY_QUICK"):  # comparing settings: no threshold, only the scored file's probabilities
        threshold, veto = 0.5, 1.01
    else:
        threshold, veto = choose_threshold(tr.subset(bench), out_of_fold(tr, bench))
    model = train(tr, threshold, veto)
    te = d.subset(test_index)
    result = score(te, decisions(te, predict_all(model, te), threshold, veto))
    if os.environ.get("SAFETY_DUMP"):
        dump = [{"label": it["label"], "language": it["language"], "disclosure": bool(it.get("disclosure")),
                 "p": p.labels, "told_p": p.disclosure, "rules": r}
                for it, p, r in zip(te.items, predict_all(model, te), te.rules, strict=True)]
        Path(os.environ["SAFETY_DUMP"]).write_text(json.dumps(dump))
    return {"scored_on": scored, "near_copies_left_out": copies, "threshold": threshold, "veto": veto, **result}


def ship(d: Data) -> dict[str, Any]:
    """Train on everything, threshold out-of-fold over every bench item; write safety_model.npz."""
    sources = np.array([it["source"] for it in d.items])
    bench = np.flatnonzero(sources != "bank")
    probs = out_of_fold(d, bench)
    threshold, veto = choose_threshold(d.subset(bench), probs)
    model = train(d, threshold, veto)
    (DOMAIN / "safety_model.npz").write_bytes(model.to_bytes())
    size = (DOMAIN / "safety_model.npz").stat().st_size
    return {"threshold": threshold, "veto": veto, "items": len(d.items), "bytes": size}


def table(r: dict[str, Any]) -> str:
    pct = lambda x: "-" if x is None else f"{100 * x:5.1f}%"  # noqa: E731
    lines = []
    for f in r["folds"]:
        lines += [f"fold: scored on {f['scored_on']}.jsonl (trained without it), {f['near_copies_left_out']} "
                  f"near copies left out of the bank, refuse at P(safe) < {f['threshold']}, "
                  f"an intent rule unless P(safe) >= {f['veto']}",
                  "language  unsafe refused  safe refused"]
        lines += [f"{lg:8}  {pct(v['recall'])}          {v['safe_refused']}" for lg, v in f["by_language"].items()]
        lines.append("category        refused  right      en      fr      zh")
        lines += [f"{c:14}  {pct(v['recall'])}   {pct(v['right'])}  {pct(v['en'])}  {pct(v['fr'])}  {pct(v['zh'])}"
                  for c, v in f["by_category"].items()]
        lines += [f"disclosures flagged {pct(f['disclosure_recall'])} of {f['disclosures']}", ""]
    if r.get("shipped"):
        lines.append(f"shipped: trained on {r['shipped']['items']} items, threshold {r['shipped']['threshold']}, "
                     f"{r['shipped']['bytes']} bytes")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cv-only", action="store_true", help="cross-validated figures only; write nothing")
    parser.add_argument("--fold", choices=["final", "all", "heldout2"], action="append", help="only these folds")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    items = load_items()
    for i, it in enumerate(items):
        it["position"] = i
    for i, near in near_copies(items).items():
        items[i]["copies"] = near
    d = featurise(items)
    result: dict[str, Any] = {"folds": [fold(d, s) for s in (args.fold or ["final", "all"])]}
    if not args.cv_only:
        result["shipped"] = ship(d)
    emit(result, table, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())

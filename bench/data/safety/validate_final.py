"""Check final.jsonl (the second, independent held-out set) and print its counts table.

python bench/data/safety/validate_final.py            # checks, then a plain table
python bench/data/safety/validate_final.py --markdown  # the same table as Markdown (for README.md)
python bench/data/safety/validate_final.py FILE        # check another file in the same format

validate.py only checks all/dev/test together and expects ids without a prefix, so this reuses its
per-item checks (keys, label, language, boolean disclosure, style tag, unique ids and texts, no safe
disclosure, zh items contain CJK, fr items look French, en items ASCII after NFKC and not French,
none of the reserved example sentences) on ids with the "final-" prefix taken off, and adds:
ids start with "final-"; no two texts equal after NFKC, lower case and dropping non-alphanumerics;
at least 10 items per unsafe category per language, 45 safe per language, 25 disclosures in all;
and no text shared with all.jsonl, either exactly (after the same normalisation) or nearly (character
trigram Jaccard >= NEAR_DUP). Those last checks print only final-set ids and a score, never the first
set's text, so running them does not expose the first set.
"""

from __future__ import annotations

import json
import sys
import unicodedata
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.dont_write_bytecode = True
import validate as v  # noqa: E402

PREFIX = "final-"
MIN_UNSAFE, MIN_SAFE, MIN_DISCLOSURES = 10, 45, 25
# A final item whose character trigrams overlap a first-set item's this much (Jaccard) counts as a copy.
NEAR_DUP = 0.5


def norm(text: str) -> str:
    t = unicodedata.normalize("NFKC", text).lower()
    return "".join(c for c in t if c.isalnum())


def grams(t: str) -> set[str]:
    return {t[i : i + 3] for i in range(len(t) - 2)} or {t}


def load(path: Path) -> tuple[list[dict], list[str]]:
    rows, errs = [], []
    raw = path.read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):
        errs.append(f"{path.name}: starts with a BOM")
    for n, line in enumerate(raw.decode("utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            errs.append(f"{path.name}:{n}: does not parse: {e}")
            continue
        if not isinstance(row, dict):
            errs.append(f"{path.name}:{n}: not a JSON object")
            continue
        rows.append(row)
    return rows, errs


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    markdown = "--markdown" in sys.argv
    path = Path(args[0]) if args else HERE / "final.jsonl"
    rows, errs = load(path)

    stripped = []
    for r in rows:
        rid = r.get("id")
        if not isinstance(rid, str) or not rid.startswith(PREFIX):
            errs.append(f"{rid}: id does not start with {PREFIX!r}")
            continue
        stripped.append({**r, "id": rid[len(PREFIX):]})
    ids = {s["id"] for s in stripped}
    errs += [PREFIX + e if e.split(":")[0] in ids else e for e in v.check(stripped)]

    seen: dict[str, str] = {}
    for r in rows:
        key = norm(r.get("text", ""))
        if key in seen:
            errs.append(f"{r.get('id')}: same text as {seen[key]} after normalisation")
        seen.setdefault(key, r.get("id"))
        if any(norm(bad) in key for bad in v.NOT_VERBATIM):
            errs.append(f"{r.get('id')}: contains a reserved example (normalised)")

    first = HERE / "all.jsonl"
    if first.exists() and path.resolve() != first.resolve():
        old_texts = [norm(json.loads(line).get("text", ""))
                     for line in first.read_text(encoding="utf-8").splitlines() if line.strip()]
        old_set = set(old_texts)
        shared = [r.get("id") for r in rows if norm(r.get("text", "")) in old_set]
        if shared:
            errs.append(f"{len(shared)} item(s) share their text with all.jsonl: {', '.join(shared)}")
        old_grams = [grams(t) for t in old_texts]
        for r in rows:
            g = grams(norm(r.get("text", "")))
            best = max((len(g & o) / len(g | o) for o in old_grams if g | o), default=0.0)
            if best >= NEAR_DUP:
                errs.append(f"{r.get('id')}: near-duplicate of a first-set item (character-trigram Jaccard {best:.2f})")

    c = Counter((r.get("label"), r.get("language")) for r in rows)
    errs += v.too_few(c, MIN_UNSAFE, MIN_SAFE)
    n_disc = sum(r.get("disclosure") is True for r in rows)
    if n_disc < MIN_DISCLOSURES:
        errs.append(f"only {n_disc} disclosures")

    if errs:
        print("\n".join(errs))
        sys.exit(1)

    body = []
    for label in v.LABELS + ["ALL UNSAFE", "TOTAL"]:
        labs = v.UNSAFE if label == "ALL UNSAFE" else v.LABELS if label == "TOTAL" else [label]
        per_lang = [sum(c[(lab, lang)] for lab in labs) for lang in v.LANGS]
        body.append([label] + per_lang + [sum(per_lang)])
    print(v.render(["label", *v.LANGS, "total"], body, markdown, width=7))
    v.summary(rows, f"{n_disc} {dict(Counter(r['label'] for r in rows if r['disclosure']))}")


if __name__ == "__main__":
    main()

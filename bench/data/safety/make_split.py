"""Split all.jsonl into dev.jsonl and test.jsonl.

Deterministic: fixed seed, stratified per (label, language); inside each stratum the
disclosure=true and disclosure=false items are halved separately so both halves get an
even share of disclosures. Odd leftovers alternate between dev and test across strata
(separately for disclosures and non-disclosures), so each stratum differs by at most
one item between the two files and the whole set splits ~50/50.

Run from anywhere:  python bench/data/safety/make_split.py
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from pathlib import Path

SEED = 20240611
HERE = Path(__file__).resolve().parent
ALL = HERE / "all.jsonl"
DEV = HERE / "dev.jsonl"
TEST = HERE / "test.jsonl"


def main() -> None:
    items = [json.loads(line) for line in ALL.read_text(encoding="utf-8").splitlines() if line.strip()]
    order = {item["id"]: n for n, item in enumerate(items)}
    strata: dict[tuple, dict[bool, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for item in items:
        strata[(item["label"], item["language"])][bool(item["disclosure"])].append(item)

    rng = random.Random(SEED)
    dev, test = [], []
    # Where the next odd leftover goes, kept apart for disclosures and the rest so that
    # both end up balanced; True means dev.
    next_to_dev = {True: True, False: False}
    for key in sorted(strata):
        leftovers = []
        for disclosure in (True, False):
            group = sorted(strata[key][disclosure], key=lambda it: it["id"])
            rng.shuffle(group)
            half = len(group) // 2
            dev.extend(group[:half])
            test.extend(group[half : 2 * half])
            if len(group) % 2:
                leftovers.append((disclosure, group[-1]))
        if len(leftovers) == 2:  # one each way, so the stratum stays within one item
            to_dev = next_to_dev[True]
            for disclosure, item in leftovers:
                (dev if to_dev else test).append(item)
                next_to_dev[disclosure] = not to_dev
                to_dev = not to_dev
        elif leftovers:
            disclosure, item = leftovers[0]
            (dev if next_to_dev[disclosure] else test).append(item)
            next_to_dev[disclosure] = not next_to_dev[disclosure]

    for path, part in ((DEV, dev), (TEST, test)):
        part.sort(key=lambda it: order[it["id"]])
        with path.open("w", encoding="utf-8") as f:
            for item in part:
                f.write(json.dumps(item, ensure_ascii=False) + "\n")
    print(f"dev {len(dev)}  test {len(test)}  (seed {SEED})")


if __name__ == "__main__":
    main()

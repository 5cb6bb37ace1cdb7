"""Benchmark: reading the external sets into tasks vs a bare ``json.load`` of the same files, same run.

Prints seconds per reader (best of ``--repeat``) and the ratio to the baseline (parsing the raw
files only), so the cost of checking every record and building examples is visible.

Example: ``python -m bench.benchmarks.load_datasets --data-dir ../shared/data``
"""

from __future__ import annotations

import argparse
import json
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from functools import partial
from pathlib import Path

from tasks.readers import load_registered

READERS: list[tuple[str, str, list[str]]] = [
    # (loader, path under the data dir, raw files the baseline parses: .json whole, .jsonl-like by line, .xml)
    ("jsquad-qa", "jglue/jsquad-v1.3", ["jglue/jsquad-v1.3/valid-v1.3.json"]),
    ("jsquad-quiz", "jglue/jsquad-v1.3", ["jglue/jsquad-v1.3/valid-v1.3.json"]),
    ("jsquad-document", "jglue/jsquad-v1.3", ["jglue/jsquad-v1.3/valid-v1.3.json"]),
    ("jcommonsenseqa", "jglue/jcommonsenseqa-v1.3",
     ["lines:jglue/jcommonsenseqa-v1.3/valid-v1.3.json", "lines:jglue/jcommonsenseqa-v1.3/train-v1.3.json"]),
    ("jnli", "jglue/jnli-v1.3", ["lines:jglue/jnli-v1.3/valid-v1.3.json"]),
    ("lawqa-qa", "lawqa_jp/selection_dev.json", ["lawqa_jp/selection_dev.json"]),
    ("niilc", "niilc", ["niilc/NIILC-ECQA2015_dev.xml"]),
]


def _best(fn: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _raw(root: Path, files: list[str]) -> None:
    """The baseline: parse the raw files and nothing else."""
    for f in files:
        if f.startswith("lines:"):
            text = (root / f[len("lines:") :]).read_text(encoding="utf-8-sig")
            [json.loads(line) for line in text.split("\n") if line.strip()]
        elif f.endswith(".xml"):
            ET.parse(root / f)
        else:
            json.loads((root / f).read_text(encoding="utf-8-sig"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data-dir", type=Path, default=Path("../shared/data"))
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    print(f"{'reader':<16} {'examples':>8} {'load s':>8} {'json s':>8} {'ratio':>6}")
    for loader, rel, raw in READERS:
        path = args.data_dir / rel
        if not path.exists():
            print(f"{loader:<16} (absent: {path})")
            continue
        task = load_registered(loader, loader, path)
        n = sum(len(v) for v in task.splits.values())
        t_load = _best(partial(load_registered, loader, loader, path), args.repeat)
        t_raw = _best(partial(_raw, args.data_dir, raw), args.repeat)
        ratio = t_load / t_raw
        print(f"{loader:<16} {n:>8} {t_load:>8.3f} {t_raw:>8.3f} {ratio:>6.1f}")


if __name__ == "__main__":
    main()

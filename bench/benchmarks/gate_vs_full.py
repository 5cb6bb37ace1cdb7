"""Benchmark: ``ragft gate`` vs a full run of the same config, both measured here in one go.

1. a cold full run (``ragft run``: trains the adapter, generates every arm) in a fresh cache;
2. ``ragft gate --baseline RUN --candidate ADAPTER`` with no cached generations: it regenerates only
   the candidate's arm and takes everything else from the baseline run.
Prints the times and the ratios of the gate to the full run and to its generation part. The embedded model is copied from your cache when present.

Example: ``python -m bench.benchmarks.gate_vs_full [--config configs/demo.toml] [--limit N]``
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.models import cache_dir


def _ragft(args: list[str], env: dict[str, str]) -> tuple[float, int, str]:
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "bench", *args], env=env, capture_output=True, text=True)
    return time.perf_counter() - t0, r.returncode, r.stdout + r.stderr


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--config", default="configs/demo.toml")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--keep", type=Path, default=None, help="copy the baseline run (report, gate verdict) here")
    a = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ragft-gate-bench-"))
    cache = work / "cache"
    (cache / "models").mkdir(parents=True)
    src = cache_dir() / "models" / "gemma-3-270m"
    if (src / "ragft-converted.json").is_file():
        shutil.copytree(src, cache / "models" / "gemma-3-270m")
    env = {**os.environ, "RAGFT_CACHE": str(cache), "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    limit = ["--limit", str(a.limit)] if a.limit else []
    out = work / "reports"
    try:
        t_cold, rc, log = _ragft(["run", a.config, "--output-dir", str(out), *limit], env)
        if rc != 0:
            raise SystemExit(f"full run failed:\n{log[-3000:]}")
        run_dir = next(p for p in out.iterdir() if (p / "selection.json").is_file())
        lora = json.loads((run_dir / "lora.json").read_text())["adapters"]
        name, info = next(iter(lora.items()))
        train_s = float(info["training"].get("train_seconds", 0.0))
        adapter_dir = info["folder"]

        for f in cache.glob("generations.sqlite*"):
            f.unlink()
        t_gate, rc_gate, log = _ragft(["gate", "--baseline", str(run_dir), "--candidate", adapter_dir], env)
        if rc_gate not in (0, 1):
            raise SystemExit(f"gate failed:\n{log[-3000:]}")
        gate_runs = list((run_dir / "gate").glob("*/predictions.jsonl"))
        arms = sorted({json.loads(x)["arm"] for p in gate_runs for x in p.read_text().split("\n") if x.strip()})
        if a.keep:
            shutil.copytree(run_dir, a.keep / run_dir.name, dirs_exist_ok=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"config {a.config}{' --limit ' + str(a.limit) if a.limit else ''}; adapter {name}")
    print(f"full run, cold (trains {train_s:.0f} s + generates all arms): {t_cold:7.1f} s")
    print(f"gate (generates only {', '.join(arms)}; exit {rc_gate}):                  {t_gate:7.1f} s")
    print(f"ratio gate / cold full run:           {t_gate / t_cold:.2f}")
    print(f"ratio gate / generation part of the full run (cold − training): {t_gate / max(t_cold - train_s, 1e-9):.2f}")


if __name__ == "__main__":
    main()

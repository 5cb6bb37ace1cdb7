"""Time of the report stage on an existing run: ``summarise`` alone (the foundation's baseline)
vs the full ``write_reports`` (statistics, cost, recommendation, Markdown, HTML with plots, CSV),
so the added time is measured rather than asserted.

Example: ``python -m bench.benchmarks.report_stage reports/demo-1a2b3c4d``
"""

from __future__ import annotations

import sys
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or not (Path(args[0]) / "selection.json").is_file():
        print("usage: python -m bench.benchmarks.report_stage RUN_DIR", file=sys.stderr)
        return 2
    run_dir = Path(args[0])
    from bench.report.rundata import RunData
    from bench.report.summary import summarise
    from bench.report.writer import write_reports

    t0 = time.perf_counter()
    summarise(RunData.load(run_dir))
    base = time.perf_counter() - t0
    t0 = time.perf_counter()
    write_reports(run_dir)  # first call includes importing scipy/matplotlib
    full_cold = time.perf_counter() - t0
    t0 = time.perf_counter()
    write_reports(run_dir)
    full_warm = time.perf_counter() - t0
    print(f"summarise only: {base:.2f} s")
    print(f"write_reports (cold imports): {full_cold:.2f} s  ({full_cold / base:.1f}x), adds {full_cold - base:.2f} s")
    print(f"write_reports (warm): {full_warm:.2f} s  ({full_warm / base:.1f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

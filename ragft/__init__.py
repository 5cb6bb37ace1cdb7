"""ragft from Python: run an experiment or open a finished run, and get its results as pandas.

Example::

    import ragft
    run = ragft.load_run("reports/demo-1a2b3c4d")      # or ragft.run("configs/demo.toml", limit=8)
    run.items().groupby(["task", "arm"]).score.mean()   # one row per (task, arm, item, judge)
    run.summary()                                       # task × arm means, CIs, n, costs
    run.paired("minato_qa", "base", "rag")              # rag − base on the same items

A thin facade over ``bench.engine`` (running) and ``bench.report`` (reading a run folder).
"""

from ragft.api import Paired, Run, load_run, run

__all__ = ["Paired", "Run", "load_run", "run"]

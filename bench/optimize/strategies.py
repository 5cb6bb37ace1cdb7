"""Search strategies over the candidate templates, within a budget of dev generations: ``grid``
(exhaustive), ``random`` (budgeted sample) and ``halving`` (successive halving, eta 2, the base
template re-checked on every dev item).

Example: ``best, log = run_strategy(cfg.prompt, evaluator, dev, random.Random(0))``
"""

from __future__ import annotations

import math
import random

from bench.config.prompt_search import PromptSearchSection
from bench.errors import RagftError
from bench.optimize.evaluate import DevEvaluator, SearchStep
from bench.types import Example


def halving_cost(n0: int, m0: int, n_dev: int) -> int:
    """Upper bound of dev generations for successive halving (eta 2), base re-checked on all items."""
    s, m = n0, m0
    cost = s * m
    while s > 1 or m < n_dev:
        s2 = math.ceil(s / 2) if s > 1 else 1
        m2 = min(n_dev, m * 2)
        cost += s2 * (m2 - m)
        s, m = s2, m2
    return cost + (n_dev - m0)


def _best(ev: DevEvaluator, ids: list[int], items: list[Example]) -> list[int]:
    """Candidate ids by rank on ``items``, best first; ties keep the earlier (base first)."""
    return sorted(ids, key=lambda ci: (-ev.stats(ci, items).rank, ci))


def _log(ev: DevEvaluator, rnd: int, ids: list[int], items: list[Example], out: list[SearchStep]) -> None:
    for ci in ids:
        s = ev.stats(ci, items)
        out.append(SearchStep(
            round=rnd, candidate=ci, name=ev.cands[ci].name, n=s.n, mean=s.mean,
            n_failed=s.n_failed, n_unscored=s.n_unscored, rank=s.rank,
        ))


def planned_generations(settings: PromptSearchSection, n_cands: int, n_dev: int) -> tuple[int, int, int]:
    """(candidates, first-round items, planned generations) for the strategy within the budget."""
    b = settings.budget
    if settings.strategy == "grid" or n_cands == 1:
        cost = n_cands * n_dev
        if cost > b:
            raise RagftError(
                f"prompt search: grid of {n_cands} candidates × {n_dev} dev items = {cost} generations "
                f"exceeds prompt.budget {b}; raise the budget, lower prompt.dev_limit or prompt.dimensions, "
                "or use strategy 'halving' or 'random'"
            )
        return n_cands, n_dev, cost
    if settings.strategy == "random":
        n = min(n_cands, b // n_dev)
        if n < 2:
            raise RagftError(
                f"prompt search: budget {b} is below 2 candidates × {n_dev} dev items; raise prompt.budget "
                "or lower prompt.dev_limit"
            )
        return n, n_dev, n * n_dev
    m0 = min(settings.min_items, n_dev)
    fits = [n for n in range(2, n_cands + 1) if halving_cost(n, m0, n_dev) <= b]
    if not fits:
        need = halving_cost(2, m0, n_dev)
        raise RagftError(
            f"prompt search: budget {b} is too small for successive halving over {n_dev} dev items "
            f"(needs at least {need}); raise prompt.budget or lower prompt.dev_limit"
        )
    n0 = max(fits)
    return n0, m0, halving_cost(n0, m0, n_dev)


def run_strategy(
    settings: PromptSearchSection, ev: DevEvaluator, dev: list[Example], rng: random.Random
) -> tuple[int, list[SearchStep]]:
    """Run the search; return the chosen candidate id (0 = base) and the log."""
    n_cands = len(ev.cands)
    n0, m0, _ = planned_generations(settings, n_cands, len(dev))
    steps: list[SearchStep] = []
    pool = [0, *sorted(rng.sample(range(1, n_cands), n0 - 1))] if n0 < n_cands else list(range(n_cands))
    if settings.strategy in ("grid", "random") or n_cands == 1:
        ev.evaluate(pool, dev)
        _log(ev, 0, pool, dev, steps)
        return _best(ev, pool, dev)[0], steps
    alive, m, rnd = pool, m0, 0
    while True:
        items = dev[:m]
        ev.evaluate(alive, items)
        _log(ev, rnd, alive, items, steps)
        if len(alive) == 1 and m == len(dev):
            break
        prev_m = m
        alive = _best(ev, alive, items)[: math.ceil(len(alive) / 2)] if len(alive) > 1 else alive
        m, rnd = min(len(dev), m * 2), rnd + 1
        if len(alive) == 1 and m == prev_m:  # the winner is already scored on every dev item
            break
    winner = alive[0]
    if winner != 0 and not all((0, e.id) in ev.results for e in dev):
        ev.evaluate([0], dev)
        _log(ev, rnd + 1, [0], dev, steps)
    return _best(ev, sorted({0, winner}), dev)[0], steps



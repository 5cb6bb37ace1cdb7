"""Judge reliability for runs graded by an LLM judge: parse failures, repeat spread, agreement.

Computed from the run's current grades after every grading pass and written as the typed
``judge_reliability.json`` (the report's "LLM judge" section renders it). Agreement is
Krippendorff's alpha (interval metric) and Spearman's rho: between LLM judges, and between
each LLM judge and the reference metrics on items that have a reference.

Example: ``ragft grade reports/demo-1a2b3c4d --judge configs/judge-gemma.toml`` (writes the file)
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Any

import numpy as np

from bench.judges.llm import GEN_FAILED, UNPARSEABLE
from bench.store.files import (
    JUDGE_CHECK,
    JUDGE_RELIABILITY,
    Caveat,
    JudgeCheck,
    JudgeReliability,
    JudgeStats,
    read_model,
    read_selection,
    record_caveats,
    write_model,
)
from bench.store.rundir import RunStore
from bench.types import Grade


def krippendorff_alpha_interval(data: list[list[float | None]]) -> float | None:
    """Krippendorff's alpha with the interval metric; ``data[coder][unit]``, None = missing.

    Only units with two or more values count. None when there is nothing pairable or no
    variation at all (alpha is undefined then).
    """
    if not data:
        return None
    n_units = max(len(row) for row in data)
    units: list[np.ndarray] = []
    for u in range(n_units):
        vals = [row[u] for row in data if u < len(row) and row[u] is not None]
        if len(vals) >= 2:
            units.append(np.asarray(vals, dtype=float))
    if not units:
        return None
    allv = np.concatenate(units)
    n = len(allv)
    d_e = 2.0 * float(((allv - allv.mean()) ** 2).sum()) / (n - 1)
    if d_e == 0:
        return None
    d_o = sum(2.0 * len(v) * float(((v - v.mean()) ** 2).sum()) / (len(v) - 1) for v in units) / n
    return 1.0 - d_o / d_e


def _ranks(x: np.ndarray) -> np.ndarray:
    order = np.argsort(x, kind="mergesort")
    ranks = np.empty(len(x), dtype=float)
    sx = x[order]
    i = 0
    while i < len(x):
        j = i
        while j + 1 < len(x) and sx[j + 1] == sx[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return ranks


def spearman(a: list[float], b: list[float]) -> float | None:
    """Spearman's rho with average ranks for ties; None below 3 pairs or without variation."""
    if len(a) != len(b):
        raise ValueError(f"spearman needs equal lengths, got {len(a)} and {len(b)}")
    if len(a) < 3:
        return None
    ra, rb = _ranks(np.asarray(a, float)), _ranks(np.asarray(b, float))
    if ra.std() == 0 or rb.std() == 0:
        return None
    return float(np.corrcoef(ra, rb)[0, 1])


def _r(x: float | None, nd: int = 3) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else round(float(x), nd)


def _current_grades(run_dir: Path) -> tuple[dict[str, Any], dict[str, dict[tuple[str, str, str], Grade]]]:
    """judges.json and, per judge id, the grades that belong to the current predictions."""
    store = RunStore(run_dir)
    registry: dict[str, Any] = store.read_json("judges.json") if (run_dir / "judges.json").is_file() else {}
    selection = read_selection(run_dir)
    preds = store.latest_predictions()
    by_judge: dict[str, dict[tuple[str, str, str], Grade]] = {}
    for (task, arm, eid, jid), g in store.latest_grades().items():
        sel = selection.root.get(task)
        p = preds.get((task, arm, eid))
        if sel is None or arm not in sel.arms or eid not in sel.examples or p is None:
            continue
        if g.prediction_key != p.request_key or p.completion is None:
            continue
        by_judge.setdefault(jid, {})[(task, arm, eid)] = g
    return registry, by_judge


def compute_reliability(run_dir: Path) -> dict[str, Any] | None:
    """The reliability figures of every LLM judge of the run; None when no LLM judge graded it."""
    registry, by_judge = _current_grades(run_dir)
    llm = [j for j, r in registry.items() if r.get("kind") == "llm" and j in by_judge]
    if not llm:
        return None
    refs = [j for j in by_judge if j.startswith("reference@")]
    out: dict[str, Any] = {"judges": {}, "pairwise": [], "all_llm_alpha": None, "vs_reference": {}}
    for j in llm:
        gs = list(by_judge[j].values())
        reps = int(registry[j].get("repeats", 1))
        n_unparse_items = sum(1 for g in gs if g.error == UNPARSEABLE)
        n_genfail = sum(1 for g in gs if g.error == GEN_FAILED)
        if reps > 1:
            replies_unparsed = sum(g.metrics.get("replies_unparsed", 0.0) for g in gs)
            replies = reps * (len(gs) - n_genfail)
        else:
            replies_unparsed = float(n_unparse_items)
            replies = len(gs) - n_genfail
        sds = [g.metrics["repeat_sd"] for g in gs if "repeat_sd" in g.metrics]
        out["judges"][j] = {
            "model": registry[j].get("model"), "backend": registry[j].get("backend"),
            "rubric": registry[j].get("rubric"), "prompt_hash": registry[j].get("prompt_hash"),
            "repeats": reps, "n_graded": len(gs), "n_scored": sum(1 for g in gs if g.score is not None),
            "n_unparseable": n_unparse_items, "n_generation_failed": n_genfail,
            "replies": replies, "replies_unparsed": int(replies_unparsed),
            "parse_failure_rate": _r(replies_unparsed / replies) if replies else None,
            "repeat_items": len(sds), "repeat_sd_mean": _r(float(np.mean(sds))) if sds else None,
            "repeat_variance_mean": _r(float(np.mean(np.square(sds)))) if sds else None,
            "guided": bool(registry[j].get("guided", False)),
            "n_guided": sum(1 for g in gs if g.metrics.get("guided") == 1.0),
            "n_free_text": sum(1 for g in gs if g.metrics.get("guided", 1.0) < 1.0),
            "guided_fallback": list(registry[j].get("guided_fallback", [])),
        }
        for ref in refs:
            pairs = [
                (g.score, by_judge[ref][k].score) for k, g in by_judge[j].items()
                if g.score is not None and k in by_judge[ref] and by_judge[ref][k].score is not None
            ]
            a = [float(x or 0) for x, _ in pairs]  # both scored (filtered above)
            b = [float(y or 0) for _, y in pairs]
            out["vs_reference"].setdefault(j, {})[ref] = {
                "n": len(pairs), "spearman": _r(spearman(a, b)),
                "alpha_interval": _r(krippendorff_alpha_interval([list(a), list(b)])) if pairs else None,
                "mean_abs_diff": _r(float(np.mean(np.abs(np.subtract(a, b))))) if pairs else None,
                "mean_llm": _r(float(np.mean(a))) if a else None,
                "mean_reference": _r(float(np.mean(b))) if b else None,
            }
    for a_id, b_id in itertools.combinations(llm, 2):
        keys = sorted(
            k for k, g in by_judge[a_id].items()
            if g.score is not None and k in by_judge[b_id] and by_judge[b_id][k].score is not None
        )
        xa = [float(by_judge[a_id][k].score or 0) for k in keys]
        xb = [float(by_judge[b_id][k].score or 0) for k in keys]
        out["pairwise"].append({
            "a": a_id, "b": b_id, "n": len(keys), "spearman": _r(spearman(xa, xb)),
            "alpha_interval": _r(krippendorff_alpha_interval([list(xa), list(xb)])) if keys else None,
        })
    if len(llm) >= 2:
        units = sorted(set().union(*(by_judge[j].keys() for j in llm)))
        matrix: list[list[float | None]] = [
            [by_judge[j][u].score if u in by_judge[j] else None for u in units] for j in llm
        ]
        out["all_llm_alpha"] = _r(krippendorff_alpha_interval(matrix))
    return out




# Credibility thresholds (stated in the report's judge section). A judge is credible when every
# measured figure passes and its discrimination was measured with ``ragft judge-check --run-dir``.
MAX_PARSE_FAILURE = 0.10  # share of replies without a score
MAX_REPEAT_SD = 1.5  # mean standard deviation of repeated verdicts of one item (points of 0–10)
MIN_WIN_RATE = 0.8  # reference answer scored above a degraded one on at least this share of items
MIN_GAP = 2.0  # … by at least this many points on average
MIN_PAIRS = 5  # scored (reference, degraded) pairs needed per degradation to tell

THRESHOLDS_EN = (
    f"parse-failure rate ≤ {MAX_PARSE_FAILURE:g}; mean repeat SD ≤ {MAX_REPEAT_SD:g} points (with repeats); "
    f"on `ragft judge-check --run-dir` the reference answer scores above each degraded answer (truncated, "
    f"off-topic, wrong language) on ≥ {MIN_WIN_RATE:.0%} of items by ≥ {MIN_GAP:g} points on average "
    f"(≥ {MIN_PAIRS} scored pairs each)"
)


def discrimination_verdict(separation: dict[str, Any]) -> tuple[bool | None, str]:
    """(passes, words) for judge-check separations ``{variant: {pairs, win_rate, mean_gap}}``;
    passes is None when too few pairs were scored to tell."""
    if not separation:
        return None, "no degradation scored"
    min_pairs = min(int(v.get("pairs") or 0) for v in separation.values())
    if min_pairs < MIN_PAIRS:
        return None, f"not enough scored pairs (fewest {min_pairs} < {MIN_PAIRS}): cannot tell"
    weak = [
        f"{k} (win rate {float(v.get('win_rate') or 0):.2f}, gap {float(v.get('mean_gap') or 0):+.2f})"
        for k, v in separation.items()
        if float(v.get("win_rate") or 0) < MIN_WIN_RATE or float(v.get("mean_gap") or 0) < MIN_GAP
    ]
    if weak:
        return False, "does not separate the reference from " + ", ".join(weak)
    return True, f"separates the reference from every degradation (win rate ≥ {MIN_WIN_RATE:g}, gap ≥ {MIN_GAP:g})"


def _check_for(judge_id: str, stats: JudgeStats, check: JudgeCheck | None) -> JudgeCheck | None:
    """The judge-check result of this judge: same name and model (the check grades without the
    reference answer, so its id differs in that one setting)."""
    if check is None:
        return None
    name = judge_id.split("@", 1)[0]
    return check if check.judge.split("@", 1)[0] == name and check.model == stats.model else None


def credibility(stats: JudgeStats, check: JudgeCheck | None) -> tuple[str, list[str]]:
    """``credible`` / ``not credible`` / ``unmeasured`` and the figures behind it (``THRESHOLDS_EN``)."""
    fails: list[str] = []
    oks: list[str] = []
    rate = stats.parse_failure_rate
    if rate is not None:
        (fails if rate > MAX_PARSE_FAILURE else oks).append(
            f"parse-failure rate {rate:.2f} {'>' if rate > MAX_PARSE_FAILURE else '≤'} {MAX_PARSE_FAILURE:g}")
    elif stats.n_graded:
        fails.append("no reply could be read")
    if stats.repeat_sd_mean is not None:
        sd = stats.repeat_sd_mean
        (fails if sd > MAX_REPEAT_SD else oks).append(
            f"mean repeat SD {sd:.2f} {'>' if sd > MAX_REPEAT_SD else '≤'} {MAX_REPEAT_SD:g}")
    if check is None:
        unmeasured = "discrimination not measured (run `ragft judge-check --run-dir RUN_DIR`)"
        return ("not credible", [*fails, unmeasured]) if fails else ("unmeasured", [*oks, unmeasured])
    passes, words = discrimination_verdict({k: v.model_dump() for k, v in check.separation.items()})
    if check.parse_failure_rate is not None and check.parse_failure_rate > MAX_PARSE_FAILURE:
        fails.append(f"judge-check parse-failure rate {check.parse_failure_rate:.2f} > {MAX_PARSE_FAILURE:g}")
    if passes is False:
        fails.append("judge-check: " + words)
    if fails:
        return "not credible", fails
    if passes is None:
        return "unmeasured", [*oks, "judge-check: " + words]
    return "credible", [*oks, "judge-check: " + words]


def judge_caveats(rel: JudgeReliability) -> list[Caveat]:
    """A caveat for every LLM judge that is not measured credible (the recommendation shows the
    one of the judge that decides a task)."""
    out: list[Caveat] = []
    for jid, st in rel.judges.items():
        if st.credibility == "credible":
            continue
        why = "; ".join(st.credibility_reasons)
        not_cred = st.credibility == "not credible"
        out.append(Caveat(
            source="judge", kind="judge_not_credible" if not_cred else "judge_unmeasured",
            en=(f"judge: {jid} is {'not a credible judge' if not_cred else 'of unmeasured credibility'} ({why})"),
            ja=(f"判定者: {jid} は{'信頼できる判定者ではありません' if not_cred else '信頼性が未測定です'}（{why}）"),
            data={"judge": jid, "credibility": st.credibility, "reasons": st.credibility_reasons},
        ))
    return out


def write_reliability(run_dir: Path) -> JudgeReliability | None:
    """Compute and write ``judge_reliability.json`` with each LLM judge's measured credibility
    (``judge_check.json`` supplies discrimination), and the judge caveats (nothing when no LLM judge
    graded the run)."""
    rel = compute_reliability(run_dir)
    if rel is None:
        return None
    model = JudgeReliability.model_validate(rel)
    check = read_model(run_dir / JUDGE_CHECK, JudgeCheck)
    for jid, st in model.judges.items():
        mine = _check_for(jid, st, check)
        st.credibility, st.credibility_reasons = credibility(st, mine)
        st.discrimination = dict(mine.separation) if mine is not None else {}
    write_model(run_dir / JUDGE_RELIABILITY, model)
    record_caveats(run_dir, "judge", judge_caveats(model))
    return model

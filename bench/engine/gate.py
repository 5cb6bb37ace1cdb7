"""The regression gate for CI: evaluate only a candidate adapter's arm and compare it, item by
item, with a finished baseline run (its base arm, its lora arm, or any named arm such as a
previous adapter's ``lora:v1``).

Everything but the candidate arm comes from the baseline run's files. Per guarded task the
paired differences (candidate − reference) get a percentile bootstrap CI; the gate fails when
the candidate is worse by more than ``lora.gate.margin`` points (and, with
``require_significance``, the CI lies below 0), when it fails more items than the reference,
or when its outputs equal the base model's on every item (an adapter that was not applied).

Example: ``ragft gate --baseline reports/demo-1a2b3c4d --candidate path/to/adapter --against lora:v1``
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bench.config import ExperimentConfig, config_from_dict, load_config
from bench.errors import RagftError
from bench.registry import arm_kind
from bench.store.rundir import RunStore
from bench.types import Grade, Prediction


@dataclass
class TaskVerdict:
    task: str
    reference_arm: str
    n: int
    n_paired: int
    ref_mean: float | None
    cand_mean: float | None
    diff: float | None
    ci_low: float | None
    ci_high: float | None
    ref_failed: int
    cand_failed: int
    identical_to_base: int
    worse: bool
    reason: str = ""


@dataclass
class GateResult:
    passed: bool
    candidate: str
    candidate_arm: str
    adapter: str | None
    margin: float
    tasks: list[TaskVerdict]
    reasons: list[str] = field(default_factory=list)
    run_dir: str = ""
    seconds: float = 0.0


def paired_bootstrap(diffs: list[float], *, seed: int = 0, n_boot: int = 2000, level: float = 0.95) -> tuple[float, float]:
    """Percentile CI of the mean paired difference (items resampled together)."""
    from bench.report.stats import bootstrap_ci

    lo, hi = bootstrap_ci(diffs, seed=seed, n_boot=n_boot, level=level)
    if lo is None or hi is None:
        raise ValueError("paired_bootstrap needs at least one paired difference")
    return lo, hi


def _baseline_config(baseline: Path, config: Path | None) -> ExperimentConfig:
    if config is not None:
        return load_config(config)
    raw = json.loads((baseline / "config.json").read_text(encoding="utf-8"))
    try:
        return config_from_dict(raw, source=str(baseline / "config.json"), base_dir=".")
    except RagftError as e:
        raise RagftError(f"{e}\n(the baseline's task paths do not resolve from here; pass --config with the run's config file)") from None


def _without_lora(arm: str) -> str:
    parts = [p for p in arm.split("+") if arm_kind(p) != "lora"]
    return "+".join(parts) or "base"


def _has_lora(arm: str) -> bool:
    return any(arm_kind(p) == "lora" for p in arm.split("+"))


def _as_candidate(arm: str) -> str:
    """The candidate's arm in its own run: ``rag+lora:v1`` -> ``rag+lora`` (its one adapter)."""
    return "+".join("lora" if arm_kind(p) == "lora" else p for p in arm.split("+"))


def _variant(arm: str) -> str | None:
    part = next((p for p in arm.split("+") if arm_kind(p) == "lora"), "lora")
    return part.split(":", 1)[1] if ":" in part else None


def _score(g: Grade | None, p: Prediction | None) -> float | None:
    if p is None or p.completion is None or g is None or g.score is None or g.prediction_key != p.request_key:
        return None
    return g.score


def run_gate(
    baseline: Path,
    candidate: str,
    *,
    config: Path | None = None,
    against: str | None = None,
    console: Any = None,
) -> GateResult:
    """Evaluate the candidate arm on the baseline's items, compare and write ``verdict.md``."""
    import time

    from bench.engine.runner import Runner
    from bench.judges.reference import ReferenceJudge

    t0 = time.perf_counter()
    if not (baseline / "selection.json").is_file() or not (baseline / "config.json").is_file():
        raise RagftError(f"--baseline {baseline}: not a ragft run directory (no selection.json/config.json)")
    cfg = _baseline_config(baseline, config)
    store = RunStore(baseline)
    selection: dict[str, Any] = store.read_json("selection.json")  # plain dict: the baseline may be older
    base_arms = sorted({a for s in selection.values() for a in s["arms"]})
    first_lora = next((a for s in selection.values() for a in s["arms"] if _has_lora(a)), None)

    cand_path = Path(candidate).expanduser()
    if candidate.endswith(".toml"):
        # the candidate config trains (or reuses) its adapter on its own data; then it is evaluated here
        from adapters.build import ensure_adapter

        cand_cfg = load_config(cand_path)
        _ref, folder = ensure_adapter(cand_cfg, console=console)
        first = cand_cfg.lora_for(None)
        registry = str(cand_cfg.resolve_path(first.registry)) if first.registry else None
        lora = first.model_copy(update={"adapter": str(folder), "registry": registry, "fractions": None})
    else:
        lc = cfg.lora_for(_variant(first_lora) if first_lora else None)
        target = str(cand_path.resolve()) if cand_path.is_dir() else candidate  # a folder or a registry name
        lora = lc.model_copy(update={"adapter": target, "fractions": None, "fraction": 1.0})
    gc = cfg.gate.model_copy(update={"against": against}) if against else lora.gate
    guarded = gc.tasks if gc.tasks is not None else list(selection)
    unknown = [t for t in guarded if t not in selection]
    if unknown:
        raise RagftError(f"lora.gate.tasks {unknown} are not tasks of the baseline run {baseline}")
    if gc.against == "auto":
        ref_arm = first_lora or "base"
    elif gc.against == "lora":
        if first_lora is None:
            raise RagftError(f"the baseline run has no lora arm to compare with (arms: {', '.join(base_arms)})")
        ref_arm = first_lora
    elif gc.against == "base":
        ref_arm = _without_lora(first_lora) if first_lora else "base"
    else:
        ref_arm = gc.against
    if ref_arm not in base_arms:
        raise RagftError(f"the baseline run has no '{ref_arm}' arm to compare with (arms: {', '.join(base_arms)})")
    cand_arm = _as_candidate(ref_arm) if _has_lora(ref_arm) else _as_candidate(first_lora or "lora")
    nolora = _without_lora(cand_arm)
    if nolora not in base_arms:
        nolora = "base"

    # the same items as the baseline: per-task limits = its evaluated counts
    tasks = [
        t.model_copy(update={"limit": len(selection[t.name]["examples"]) or None})
        for t in cfg.tasks if t.name in guarded
    ]
    tag = hashlib.sha256(f"{candidate}\0{cand_arm}".encode()).hexdigest()[:8]
    gate_cfg = cfg.model_copy(update={
        "lora": [lora], "arms": [cand_arm], "tasks": tasks,
        "run": cfg.run.model_copy(update={"id": f"candidate-{tag}"}),
    })
    runner = Runner(gate_cfg, output_dir=baseline / "gate", console=console)
    res = runner.run()
    cstore = RunStore(res.run_dir)
    csel = cstore.read_json("selection.json")
    for t in guarded:
        if csel[t]["examples"] != selection[t]["examples"]:
            raise RagftError(f"task {t}: the candidate run evaluated other items than the baseline (data changed?)")
    adapters = sorted(res.adapters)

    jid = ReferenceJudge().id
    bp, bg = store.latest_predictions(), store.latest_grades()
    cp, cg = cstore.latest_predictions(), cstore.latest_grades()
    verdicts: list[TaskVerdict] = []
    reasons: list[str] = []
    same_total = compared_total = 0
    for t in guarded:
        ids = selection[t]["examples"]
        diffs: list[float] = []
        ref_s: list[float] = []
        cand_s: list[float] = []
        ref_failed = cand_failed = same = 0
        for eid in ids:
            rp, cpred = bp.get((t, ref_arm, eid)), cp.get((t, cand_arm, eid))
            rs = _score(bg.get((t, ref_arm, eid, jid)), rp)
            cs = _score(cg.get((t, cand_arm, eid, jid)), cpred)
            ref_failed += rp is None or rp.completion is None
            cand_failed += cpred is None or cpred.completion is None
            if rs is not None:
                ref_s.append(rs)
            if cs is not None:
                cand_s.append(cs)
            if rs is not None and cs is not None:
                diffs.append(cs - rs)
            np_ = bp.get((t, nolora, eid))
            if np_ is not None and np_.completion is not None and cpred is not None and cpred.completion is not None:
                compared_total += 1
                if np_.completion.text == cpred.completion.text:
                    same += 1
                    same_total += 1
        diff = float(np.mean(diffs)) if diffs else None
        lo, hi = paired_bootstrap(diffs, seed=cfg.run.seed, n_boot=gc.n_boot) if diffs else (None, None)
        worse, why = False, ""
        if diff is not None and hi is not None and diff < -gc.margin and (hi < 0 or not gc.require_significance):
            worse, why = True, f"worse than {ref_arm} by {-diff:.2f} points (margin {gc.margin}; CI [{lo:.2f}, {hi:.2f}])"
        elif cand_failed > ref_failed:
            worse, why = True, f"{cand_failed} failed items vs {ref_failed} for {ref_arm}"
        elif not diffs:
            worse, why = True, "no item could be compared (nothing scored)"
        if worse:
            reasons.append(f"{t}: {why}")
        verdicts.append(TaskVerdict(
            task=t, reference_arm=ref_arm, n=len(ids), n_paired=len(diffs),
            ref_mean=float(np.mean(ref_s)) if ref_s else None, cand_mean=float(np.mean(cand_s)) if cand_s else None,
            diff=diff, ci_low=lo, ci_high=hi, ref_failed=ref_failed, cand_failed=cand_failed,
            identical_to_base=same, worse=worse, reason=why,
        ))
    if compared_total and same_total == compared_total:
        reasons.append(
            f"the candidate's outputs equal the {nolora} arm's on all {compared_total} items: "
            "the adapter was most likely not applied"
        )
    result = GateResult(
        passed=not reasons, candidate=candidate, candidate_arm=cand_arm, adapter=adapters[0] if adapters else None,
        margin=gc.margin, tasks=verdicts, reasons=reasons, run_dir=str(res.run_dir),
        seconds=round(time.perf_counter() - t0, 2),
    )
    (res.run_dir / "verdict.md").write_text(verdict_markdown(result), encoding="utf-8")
    (res.run_dir / "verdict.json").write_text(json.dumps(asdict(result), indent=2, ensure_ascii=False), encoding="utf-8")
    return result


def _f(x: float | None) -> str:
    return "—" if x is None else f"{x:+.2f}" if x < 0 or x > 0 else "0.00"


def _m(x: float | None) -> str:
    return "—" if x is None else f"{x:.2f}"


def verdict_markdown(r: GateResult) -> str:
    head = "PASS" if r.passed else "FAIL"
    lines = [
        f"# ragft gate: **{head}**",
        "",
        f"Candidate `{r.candidate}` (adapter `{r.adapter}`, arm `{r.candidate_arm}`); margin {r.margin} points on 0–10; "
        f"paired 95% bootstrap CI of candidate − reference. Candidate run: `{r.run_dir}` ({r.seconds:.0f} s).",
        "",
        "| task | vs | n | paired | reference | candidate | diff | 95% CI | failed ref/cand | same as base | verdict |",
        "|---|---|---:|---:|---:|---:|---:|---|---|---:|---|",
    ]
    for v in r.tasks:
        ci = "—" if v.ci_low is None else f"[{v.ci_low:.2f}, {v.ci_high:.2f}]"
        lines.append(
            f"| {v.task} | {v.reference_arm} | {v.n} | {v.n_paired} | {_m(v.ref_mean)} | {_m(v.cand_mean)} | "
            f"{_f(v.diff)} | {ci} | {v.ref_failed}/{v.cand_failed} | {v.identical_to_base} | "
            f"{'worse' if v.worse else 'ok'} |"
        )
    if r.reasons:
        lines += ["", "Reasons:", "", *[f"- {x}" for x in r.reasons]]
    return "\n".join(lines) + "\n"

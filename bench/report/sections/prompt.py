"""Report section "Prompt search": per task, the template the ``prompt`` arm froze (shown in full),
its dev score against the base template's, the test scores, and the search's cost
(from ``prompt_search.json``, written when the arm is prepared).

Example: ``ragft report reports/demo-1a2b3c4d``
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.errors import RagftError
from bench.registry import arm_parts
from bench.report.rundata import RunData

RUN_FILE = "prompt_search.json"


def _f(x: float | None) -> str:
    return "—" if x is None else f"{x:.2f}"


def _ci(s: dict[str, Any] | None) -> str:
    if not s or s.get("mean") is None:
        return "—"
    ci = "" if s.get("ci_low") is None else f" [{s['ci_low']:.2f}, {s['ci_high']:.2f}]"
    return f"{s['mean']:.2f}{ci} (n={s['n']})"


def fixed_variants(rd: RunData) -> list[str]:
    """The ``prompt:NAME`` arms: what each template changes, and its test score per task vs base."""
    templates: dict[str, dict[str, Any]] = rd.config.get("templates") or {}
    summ = [s.model_dump(mode="json") for s in rd.summaries]
    used = [n for n in templates if any(s["arm"] == f"prompt:{n}" for s in summ)]
    if not used:
        return []
    tasks = list(dict.fromkeys(s["task"] for s in summ))
    lines = ["", "### Fixed prompt variants (`prompt:NAME`)", "",
             "The base template with the changes listed; nothing searched. Test means 0–10 with 95% CIs.", "",
             "| task | base | " + " | ".join(f"`prompt:{n}`" for n in used) + " |",
             "|---|---|" + "---|" * len(used)]
    for t in tasks:
        pick = {s["arm"]: s for s in summ if s["task"] == t}
        lines.append(f"| {t} | {_ci(pick.get('base'))} | " + " | ".join(_ci(pick.get(f"prompt:{n}")) for n in used) + " |")
    lines.append("")
    for n in used:
        changes = ", ".join(f"{k} = {v!r}" for k, v in templates[n].items() if v is not None)
        lines.append(f"- `prompt:{n}`: {changes or 'no change'}")
    return lines


def prompt_section(rd: RunData) -> str:
    """The prompt arm's section: chosen template in full, dev (chosen vs base) and test scores."""
    data: dict[str, Any] | None = rd.files.get(RUN_FILE)
    if data is None:
        fixed = fixed_variants(rd)
        return "\n".join(["## Prompt variants", *fixed]) + "\n" if fixed else ""
    summ: list[dict[str, Any]] = [s.model_dump(mode="json") for s in rd.summaries]
    lines = [
        "## Prompt search (`prompt` arm)", "",
        "The template was chosen on the dev split and scored on the test split; a dev gain that does not "
        "carry to test is over-fitting to dev. Test means are 0–10 with 95% bootstrap CIs.", "",
        "| task | chosen | dev: chosen | dev: base | n dev | test: base | test: prompt arm(s) | search gens (new/cached) | search s |",
        "|---|---|---:|---:|---:|---|---|---|---:|",
    ]
    for task, e in data.items():
        rows = [s for s in summ if s["task"] == task]
        base = next((s for s in rows if s["arm"] == "base"), None)
        parts: list[str] = []
        for s in rows:
            try:
                comps = arm_parts(s["arm"])
            except RagftError:
                comps = []
            if "prompt" in comps:
                parts.append(f"{s['arm']}: {_ci(s)}")
        g = e.get("generations", {})
        src = " (cached artifact)" if e.get("loaded_from_cache") else ""
        lines.append(
            f"| {task} | `{e['template']['name']}` | {_f(e.get('dev_score'))} | {_f(e.get('base_dev_score'))} | "
            f"{len(e.get('dev_ids', []))} | {_ci(base)} | {'; '.join(parts) or '—'} | "
            f"{g.get('requested', 0)} ({g.get('generated', 0)}/{g.get('cached', 0)}){src} | {e.get('wall_s', 0):.1f} |"
        )
    for task, e in data.items():
        t = e["template"]
        fs = e.get("few_shots", {})
        lines += [
            "", f"### {task}: `{t['name']}`", "",
            f"Strategy `{e.get('strategy')}`, budget {e.get('budget')}, {e.get('candidates')} candidates; "
            f"few-shot: {fs.get('count')} × `{fs.get('selection')}` ({len(fs.get('texts', {}))} distinct examples). "
            f"Artifact: `{Path(str(e.get('artifact'))).name}`.", "",
            "```text", str(e.get("layout", "")).rstrip(), "```",
        ]
        scores = e.get("dev_scores", {})
        if scores:
            lines += ["", "| candidate (all dev items) | dev mean | failed | unscored |", "|---|---:|---:|---:|"]
            for name, sc in sorted(scores.items(), key=lambda kv: -(kv[1].get("rank") or 0.0)):
                lines.append(f"| `{name}` | {_f(sc.get('mean'))} | {sc.get('n_failed')} | {sc.get('n_unscored')} |")
    lines += fixed_variants(rd)
    return "\n".join(lines) + "\n"

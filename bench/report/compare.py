"""``ragft compare RUN_A RUN_B``: per task and arm, paired differences (B − A) on the items both
runs scored (matched by id), with bootstrap CIs, Wilcoxon p-values Holm-adjusted over all
(task, arm) pairs, regressions highlighted, and settings that break comparability flagged.

``ragft compare`` writes ``compare-<A>-vs-<B>.md`` and ``.html`` into RUN_B (or ``--output-dir``).

Example: ``ragft compare reports/demo-1a2b3c4d reports/demo-5e6f7a8b``
"""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Any

from bench.config.report import ReportSection
from bench.errors import RagftError
from bench.report.results import load_rows
from bench.report.rundata import RunData
from bench.report.stats import PairedDiff, holm_adjust, paired_comparison

# Settings whose difference makes scores incomparable: (file, dotted key).
COMPARABILITY_KEYS: list[tuple[str, str]] = [
    ("provenance.json", "model_fingerprint"),
    ("provenance.json", "judge"),
    ("provenance.json", "datasets"),
    ("provenance.json", "chat_template"),
    ("provenance.json", "judge_prompt_hash"),
    ("config.json", "model.id"),
    ("config.json", "model.dtype"),
    ("config.json", "model.max_model_len"),
    ("config.json", "sampling"),
    ("config.json", "judge"),
    ("config.json", "tasks"),
]


def _get(d: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(d, dict) or part not in d:
            return None
        d = d[part]
    return d


def _load(run_dir: Path, name: str) -> dict[str, Any]:
    p = run_dir / name
    if not p.is_file():
        return {}
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise RagftError(f"{p}: line {e.lineno}: expected JSON ({e.msg})") from None
    return data if isinstance(data, dict) else {}


def _flatten(prefix: str, v: Any) -> dict[str, Any]:
    if isinstance(v, list) and v and all(isinstance(x, dict) and "name" in x for x in v):
        v = {str(x["name"]): {k: y for k, y in x.items() if k != "name"} for x in v}  # tasks by name
    if isinstance(v, dict):
        out: dict[str, Any] = {}
        for k, x in v.items():
            out.update(_flatten(f"{prefix}.{k}", x))
        return out
    return {prefix: v}


def differing_settings(run_a: Path, run_b: Path) -> list[tuple[str, Any, Any]]:
    """(file:key, value in A, value in B) for every comparability-relevant setting that differs."""
    out: list[tuple[str, Any, Any]] = []
    for name, key in COMPARABILITY_KEYS:
        va, vb = _get(_load(run_a, name), key), _get(_load(run_b, name), key)
        if va == vb:
            continue
        fa, fb = _flatten(key, va), _flatten(key, vb)
        for k in sorted(set(fa) | set(fb)):
            if key in ("datasets", "tasks") and (k not in fa or k not in fb or None in (fa[k], fb[k])):
                continue  # a task only one run has: listed as "Only in A/B", not a setting change
            if fa.get(k) != fb.get(k):
                out.append((f"{name}:{k}", fa.get(k), fb.get(k)))
    return out


def compare_runs(run_a: Path, run_b: Path, settings: ReportSection | None = None) -> dict[str, Any]:
    for d in (run_a, run_b):
        if not (d / "selection.json").is_file():
            raise RagftError(f"{d} is not a ragft run directory (no selection.json)")
    settings = settings or ReportSection.model_validate(_load(run_b, "config.json").get("report", {}))
    seed = int(_get(_load(run_b, "config.json"), "run.seed") or 0)
    ra, rb = load_rows(RunData.load(run_a)), load_rows(RunData.load(run_b))

    def table(rows: list[dict[str, Any]]) -> dict[tuple[str, str, str], dict[str, list[float]]]:
        t: dict[tuple[str, str, str], dict[str, list[float]]] = {}
        for r in rows:
            if r["judge"] and r["score"] is not None:
                t.setdefault((r["task"], r["arm"], r["judge"]), {}).setdefault(r["example_id"], []).append(
                    float(r["score"]))
        return t

    ta, tb = table(ra), table(rb)
    shared = sorted(set(ta) & set(tb))
    pairs = [
        paired_comparison(ta[k], tb[k], task=k[0], judge=k[2], arm_a=f"A:{k[1]}", arm_b=f"B:{k[1]}",
                          threshold=settings.pass_threshold, seed=seed, n_boot=settings.n_boot)
        for k in shared
    ]
    pairs = holm_adjust(pairs, settings.alpha) if pairs else []
    only = {"A": sorted({k[:2] for k in ta} - {k[:2] for k in tb}),
            "B": sorted({k[:2] for k in tb} - {k[:2] for k in ta})}
    item_drops: dict[tuple[str, str, str], list[str]] = {}
    for k in shared:
        for eid in sorted(set(ta[k]) & set(tb[k])):
            a = sum(ta[k][eid]) / len(ta[k][eid])
            b = sum(tb[k][eid]) / len(tb[k][eid])
            if b <= a - 3:
                item_drops.setdefault(k, []).append(eid)
    return {"run_a": run_a.name, "run_b": run_b.name, "pairs": pairs, "only": only,
            "differences": differing_settings(run_a, run_b), "item_drops": item_drops,
            "settings": settings, "outputs": output_parity(ra, rb),
            "backends": [_backend(_get(_load(d, "provenance.json"), "model_fingerprint")) for d in (run_a, run_b)]}


def _backend(fingerprint: Any) -> str:
    return str(fingerprint).split(":", 1)[0] if fingerprint else "?"


def output_parity(ra: list[dict[str, Any]], rb: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per (task, arm) on items both runs answered: how many outputs are identical, how many differ,
    and how many identical outputs got different scores (should be none: same text, same judge)."""
    def answers(rows: list[dict[str, Any]]) -> dict[tuple[str, str, str], tuple[str, dict[str, float]]]:
        out: dict[tuple[str, str, str], tuple[str, dict[str, float]]] = {}
        for r in rows:
            if r["answer"] is None:
                continue
            k = (r["task"], r["arm"], r["example_id"])
            text, scores = out.setdefault(k, (r["answer"], {}))
            if r["judge"] and r["score"] is not None:
                scores[r["judge"]] = float(r["score"])
        return out

    a, b = answers(ra), answers(rb)
    table: dict[tuple[str, str], dict[str, Any]] = {}
    for k in sorted(set(a) & set(b)):
        row = table.setdefault(k[:2], {"task": k[0], "arm": k[1], "n": 0, "identical": 0, "differ": 0,
                                       "score_mismatch": 0, "differing_ids": []})
        row["n"] += 1
        (ta, sa), (tb, sb) = a[k], b[k]
        if ta == tb:
            row["identical"] += 1
            shared = set(sa) & set(sb)
            row["score_mismatch"] += any(sa[j] != sb[j] for j in shared)
        else:
            row["differ"] += 1
            row["differing_ids"].append(k[2])
    return list(table.values())


def _row_status(p: PairedDiff) -> str:
    if p.n == 0:
        return "no shared items"
    if p.significant and (p.diff or 0) < 0:
        return "REGRESSION"
    if p.significant:
        return "improved"
    if p.ci_high is not None and p.ci_high < 0:
        return "possible regression (not significant after Holm)"
    return "no significant change"


def _f(x: float | None) -> str:
    return "—" if x is None else f"{x:+.2f}"


def render_markdown(c: dict[str, Any]) -> str:
    lines = [f"# ragft compare — A `{c['run_a']}` vs B `{c['run_b']}`", ""]
    if c["differences"]:
        lines += ["**Warning: these runs differ in settings that break comparability:**", "",
                  "| setting | A | B |", "|---|---|---|"]
        lines += [f"| `{k}` | `{json.dumps(a, ensure_ascii=False)}` | `{json.dumps(b, ensure_ascii=False)}` |"
                  for k, a, b in c["differences"]]
        lines.append("")
    else:
        lines += ["Settings that affect comparability (model fingerprint, chat template, sampling, judge, "
                  "dataset hashes, task settings) are identical.", ""]
    s = c["settings"]
    lines += [f"B − A per task and arm on items matched by id. CI: 95% bootstrap over items; p: Wilcoxon "
              f"signed-rank, Holm-adjusted over all rows (α={s.alpha}).", "",
              "| task | arm | judge | n | mean A | mean B | B − A | 95% CI | Holm p | items dropped ≥3 | status |",
              "|---|---|---|---:|---:|---:|---:|---|---:|---:|---|"]
    for p in c["pairs"]:
        st = _row_status(p)
        mark = f"**{st}**" if st == "REGRESSION" else st
        drops = len(c["item_drops"].get((p.task, p.arm_a[2:], p.judge), []))
        lines.append(f"| {p.task} | {p.arm_a[2:]} | {p.judge} | {p.n} | {_f(p.mean_a)[1:]} | {_f(p.mean_b)[1:]} | "
                     f"{_f(p.diff)} | [{_f(p.ci_low)}, {_f(p.ci_high)}] | {p.p_holm:.3g} | {drops} | {mark} |")
    for side in ("A", "B"):
        if c["only"][side]:
            lines += ["", f"Only in {side}: " + ", ".join(f"{t}/{a}" for t, a in c["only"][side])]
    regs = [p for p in c["pairs"] if _row_status(p) == "REGRESSION"]
    lines += ["", f"**{len(regs)} significant regression(s).**" if regs else "No significant regressions.", ""]
    lines += _parity_lines(c)
    return "\n".join(lines)


def _parity_lines(c: dict[str, Any]) -> list[str]:
    rows = c.get("outputs") or []
    if not rows:
        return []
    ba, bb = c.get("backends", ["?", "?"])
    title = f"## Backend parity: {ba} (A) vs {bb} (B)" if ba != bb else "## Identical outputs"
    n = sum(r["n"] for r in rows)
    differ = sum(r["differ"] for r in rows)
    mismatch = sum(r["score_mismatch"] for r in rows)
    lines = [title, "",
             f"Greedy outputs of the items both runs answered: **{differ} of {n} differ** between the runs; "
             f"{mismatch} item(s) with identical outputs got different scores (expected 0). A score "
             "difference in the table above comes only from the differing items.", "",
             "| task | arm | items | identical | differ | identical but scored differently | differing items |",
             "|---|---|---:|---:|---:|---:|---|"]
    for r in rows:
        ids = ", ".join(f"`{x}`" for x in r["differing_ids"][:4]) + (" …" if len(r["differing_ids"]) > 4 else "")
        lines.append(f"| {r['task']} | {r['arm']} | {r['n']} | {r['identical']} | {r['differ']} | "
                     f"{r['score_mismatch']} | {ids or '—'} |")
    return [*lines, ""]


def render_html(c: dict[str, Any]) -> str:
    from markdown_it import MarkdownIt

    body = MarkdownIt("commonmark", {"html": False}).enable("table").render(render_markdown(c))
    body = body.replace("<strong>REGRESSION</strong>", '<strong class="reg">REGRESSION</strong>')
    return (
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>ragft compare "
        f"{escape(c['run_a'])} vs {escape(c['run_b'])}</title><style>body{{font-family:system-ui,sans-serif;"
        "max-width:1200px;margin:auto;padding:1em 2em}table{border-collapse:collapse}th,td{border:1px solid #ddd;"
        "padding:3px 7px}th{background:#f4f4f4}.reg{color:#b00}tr:has(.reg) td{background:#fdecec}</style>"
        f"</head><body>{body}</body></html>"
    )

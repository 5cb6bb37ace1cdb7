"""A run directory read once into one typed view: everything the report stage needs.

``RunData.load`` reads the config, selection, examples, the latest prediction and grade of every
item, provenance, costs and the optional files other stages wrote (contamination, judge
reliability, caveats, judges, prompt search, retrieval, LoRA). Summaries, statistics, costs, the Markdown and
HTML reports and every report section work from this object; none of them opens a file again.

Example: ``rd = RunData.load(Path("reports/demo-1a2b3c4d")); len(rd.predictions)``
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.config.report import CostSection, ReportSection
from bench.errors import RagftError
from bench.store.costs import read_costs
from bench.store.files import (
    CHOICE_SHUFFLE,
    CONTAMINATION,
    JUDGE_RELIABILITY,
    CaveatsFile,
    ChoiceShuffle,
    ContaminationFile,
    CostsFile,
    JudgeReliability,
    Selection,
    read_caveats,
    read_model,
    read_selection,
)
from bench.store.rundir import RunStore
from bench.types import ArmSummary, Example, Grade, Prediction

# Optional JSON files written by other stages, read once when present.
OPTIONAL_FILES = (
    "judges.json", "judge_check.json", "prompt_search.json", "retrieval.json", "lora.json", "longctx.json",
)


@dataclass
class RunData:
    root: Path
    config: dict[str, Any]
    selection: Selection
    examples: dict[str, dict[str, dict[str, Any]]]
    predictions: dict[tuple[str, str, str], Prediction]
    grades: dict[tuple[str, str, str, str], Grade]
    provenance: dict[str, Any]
    costs: CostsFile
    contamination: ContaminationFile | None
    reliability: JudgeReliability | None
    caveats: CaveatsFile  # contamination, judge, data, parity and output checks (``caveats.json``)
    shuffle: ChoiceShuffle | None  # the shuffle_choices check (``choice_shuffle.json``)
    files: dict[str, Any]  # the OPTIONAL_FILES that exist, parsed
    report: ReportSection
    prices: CostSection
    seed: int
    summaries: list[ArmSummary] = field(default_factory=list)  # set by the report writer

    @property
    def run_id(self) -> str:
        return self.root.name

    @classmethod
    def load(cls, run_dir: Path) -> RunData:
        if not run_dir.is_dir():
            raise RagftError(f"{run_dir}: no such run directory")
        selection = read_selection(run_dir)
        store = RunStore(run_dir)
        config = _json(run_dir / "config.json") or {}
        files = {name: data for name in OPTIONAL_FILES if (data := _json(run_dir / name)) is not None}
        return cls(
            root=run_dir, config=config, selection=selection,
            examples=_json(run_dir / "examples.json") or {},
            predictions=store.latest_predictions(), grades=store.latest_grades(),
            provenance=_json(run_dir / "provenance.json") or {},
            costs=read_costs(run_dir),
            contamination=read_model(run_dir / CONTAMINATION, ContaminationFile),
            reliability=read_model(run_dir / JUDGE_RELIABILITY, JudgeReliability),
            caveats=read_caveats(run_dir),
            shuffle=read_model(run_dir / CHOICE_SHUFFLE, ChoiceShuffle),
            files=files,
            report=ReportSection.model_validate(config.get("report", {})),
            prices=CostSection.model_validate(config.get("cost", {})),
            seed=int(config.get("run", {}).get("seed", 0)),
        )

    def example(self, task: str, example_id: str) -> Example | None:
        raw = self.examples.get(task, {}).get(example_id)
        return Example.model_validate(raw) if raw is not None else None

    def current_grade(self, task: str, arm: str, example_id: str, judge: str) -> Grade | None:
        """The grade of the item's current prediction (a grade of an older prediction is None)."""
        p = self.predictions.get((task, arm, example_id))
        g = self.grades.get((task, arm, example_id, judge))
        if p is None or g is None or g.prediction_key != p.request_key:
            return None
        return g

    def device(self) -> str:
        """Where the run generated: the GPU name, ``cuda`` or ``cpu`` (from provenance)."""
        dev = self.provenance.get("device", {})
        return str(dev.get("gpu") or "cuda") if dev.get("cuda") else "cpu"


def _json(path: Path) -> Any:
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise RagftError(f"{path}: line {e.lineno}: expected JSON ({e.msg})") from None

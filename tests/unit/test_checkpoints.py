"""LoRA checkpoints after a kill during a save: the newest complete one is resumed from and the
half-written ones are removed (a kill between the weights and trainer_state.json)."""

from __future__ import annotations

import json
from pathlib import Path

from adapters.train import last_complete_checkpoint
from tests.counters import tally


def test_half_written_checkpoint_is_skipped(tmp_path: Path) -> None:
    ck = tmp_path / "checkpoints"
    for step, state in [(5, json.dumps({"global_step": 5})), (10, None), (15, '{"global_st')]:
        d = ck / f"checkpoint-{step}"
        d.mkdir(parents=True)
        (d / "adapter_model.safetensors").write_bytes(b"weights")
        if state is not None:
            (d / "trainer_state.json").write_text(state)
    (ck / "checkpoint-x").mkdir()  # not a checkpoint name: left alone
    assert last_complete_checkpoint(ck) == str(ck / "checkpoint-5")
    assert sorted(p.name for p in ck.iterdir()) == ["checkpoint-5", "checkpoint-x"]
    assert last_complete_checkpoint(tmp_path / "none") is None
    tally("faults injected", "half-written LoRA checkpoints", 2)

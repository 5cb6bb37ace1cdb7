"""Models load only from safetensors; a bad model path is a clear error."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bench.backends.hf import HFBackend
from bench.errors import RagftError
from bench.models import resolve_model


def test_pickle_only_model_is_refused(tiny_model: Path, tmp_path: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM

    pkl = tmp_path / "pickled"
    shutil.copytree(tiny_model, pkl)
    for f in pkl.glob("*.safetensors"):
        f.unlink()
    model = AutoModelForCausalLM.from_pretrained(str(tiny_model))
    torch.save(model.state_dict(), pkl / "pytorch_model.bin")
    b = HFBackend(str(pkl), dtype="float32")
    with pytest.raises(RagftError, match="cannot load model"):
        _ = b.model


def test_missing_model_path_is_clear(tmp_path: Path) -> None:
    with pytest.raises(RagftError, match="does not exist"):
        resolve_model(str(tmp_path / "nope"))
    with pytest.raises(RagftError, match="config.json"):
        resolve_model(str(tmp_path))
    with pytest.raises(RagftError, match="unknown embedded"):
        resolve_model("embedded:gpt-9")


def test_run_refuses_pickle_and_foreign_adapters(tiny_model: Path, tmp_path: Path) -> None:
    """`ragft run` with `lora.adapter` naming an untrusted folder: a peft adapter saved as a pickle
    (`adapter_model.bin`) is refused with the reason, and so is a safetensors adapter whose
    ragft_adapter.json names another base model; one error line each, no traceback."""
    import json
    import os
    import subprocess
    import sys

    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from tests.counters import tally
    from tests.fixture_data import make_tasks

    model = get_peft_model(AutoModelForCausalLM.from_pretrained(str(tiny_model)),
                           LoraConfig(r=2, target_modules=["q_proj"], task_type="CAUSAL_LM"))
    pickled, foreign = tmp_path / "pickled", tmp_path / "foreign"
    model.save_pretrained(str(pickled), safe_serialization=False)
    assert (pickled / "adapter_model.bin").is_file()
    model.save_pretrained(str(foreign), safe_serialization=True)
    (foreign / "ragft_adapter.json").write_text(json.dumps({"base_model": "0" * 64}), encoding="utf-8")
    cfg = make_tasks(tmp_path / "data")
    base = cfg.read_text().replace('id = "MODEL"', f'id = "{tiny_model}"').replace('arms = ["base"]', 'arms = ["lora"]')
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2]), "RAGFT_CACHE": str(tmp_path / "cache")}
    for folder, why in [(pickled, "holds pickle weights ['adapter_model.bin']; ragft loads safetensors only"),
                        (foreign, f"was trained on base model {'0' * 64}, but the served model is")]:
        cfg.write_text(base + f'\n[lora]\nadapter = "{folder}"\n', encoding="utf-8")
        r = subprocess.run([sys.executable, "-m", "bench", "run", str(cfg), "--output-dir", str(tmp_path / "out")],
                           env=env, capture_output=True, text=True, timeout=300)
        msg = " ".join(r.stderr.split())
        assert r.returncode == 2 and why in msg and "Traceback" not in r.stderr, r.stderr[-2000:]
        tally("faults injected", "untrusted adapter refused")

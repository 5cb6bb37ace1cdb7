"""The one adapter identity: a registered adapter (content hash, never-reused ``int_id``) as the
``AdapterSpec`` every backend receives, and ``lora.json`` — the run's record of what it served.

vLLM gets ``lora_name = spec.name`` (it carries the hash prefix) and ``lora_int_id = spec.int_id``
from the registry; the CLI, the report and the backends therefore print and use the same identity.

Example: ``spec = adapter_spec(*Registry.default().load(name, served_model=fp))``
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from adapters.registry import CONFIG, AdapterRef, Registry
from adapters.train import LOSS_FILE, META_FILE
from bench.errors import RagftError
from bench.models import fingerprint_model, resolve_model
from bench.store.disk import atomic_write
from bench.types import AdapterSpec

RUN_FILE = "lora.json"


def adapter_rank(folder: Path) -> int:
    """The largest LoRA rank of an adapter folder (``r`` and any ``rank_pattern`` entry)."""
    cfg_file = folder / CONFIG
    try:
        cfg = json.loads(cfg_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise RagftError(f"{cfg_file}: expected a peft adapter config (JSON) ({e})") from None
    r = cfg.get("r")
    if not isinstance(r, int) or r < 1:
        raise RagftError(f"{cfg_file}: field 'r' expected a positive integer, got {r!r}")
    pattern = cfg.get("rank_pattern") or {}
    return max([r, *(int(v) for v in pattern.values())])


def adapter_spec(ref: AdapterRef, folder: Path) -> AdapterSpec:
    """The spec backends receive for a registered adapter loaded from ``folder``."""
    return AdapterSpec(
        name=ref.name, path=str(folder.resolve()), sha256=ref.sha256, int_id=ref.int_id,
        rank=adapter_rank(folder), base_model=ref.base_model,
    )


def spec_for_folder(
    folder: Path, base_model: str, *, prefix: str = "lora", registry: Registry | None = None
) -> AdapterSpec:
    """Register an adapter folder for ``base_model`` (``embedded:…`` or a model folder) and return
    its spec: the same weights always get the same name and ``int_id``."""
    reg = registry or Registry.default()
    fp = fingerprint_model(resolve_model(base_model))
    ref = reg.register(Path(folder), base_model=fp, prefix=prefix)
    return adapter_spec(*reg.load(ref.name, served_model=fp))


def record_adapter(
    run_dir: Path, ref: AdapterRef, folder: Path, *, arm: str = "lora", fraction: float = 1.0,
    curve: str | None = None,
) -> None:
    """Add the adapter (identity, training metadata, loss curve, the arm that serves it) to the
    run's ``lora.json``."""
    path = run_dir / RUN_FILE
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    meta = json.loads((folder / META_FILE).read_text(encoding="utf-8")) if (folder / META_FILE).is_file() else {}
    losses = json.loads((folder / LOSS_FILE).read_text(encoding="utf-8")) if (folder / LOSS_FILE).is_file() else []
    prev = data.setdefault("adapters", {}).get(ref.name, {})
    arms = sorted({*prev.get("arms", []), arm})
    data["adapters"][ref.name] = {
        "ref": ref.model_dump(mode="json"), "folder": str(folder), "training": meta, "loss_curve": losses,
        "arms": arms, "fraction": fraction, "curve": curve,
    }
    atomic_write(path, json.dumps(data, ensure_ascii=False, indent=1))

"""Get the adapter a config asks for: a named/registered one (``lora.adapter``), or a trained one
from the cache, training it first when no adapter with the same key exists.

The cache key is (base model fingerprint, train data hash, training settings, dtype), so
re-running the demo reuses the adapter and any change to what it learns from retrains it.

Example: ``ref, folder = ensure_adapter(load_config("configs/demo.toml"))``
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from adapters.registry import NAME_RE, AdapterRef, Registry, check_safetensors_only
from adapters.train import META_FILE
from bench.config import ExperimentConfig, LoraSection
from bench.errors import RagftError
from bench.models import fingerprint_model, load_tokenizer, resolve_model

if TYPE_CHECKING:
    from adapters.data import Contexts

log = logging.getLogger(__name__)


def adapter_key(base_fp: str, data_hash: str, cfg: ExperimentConfig, lc: LoraSection | None = None) -> str:
    lc = lc or cfg.lora_for(None)
    ident = {"base": base_fp, "data": data_hash, "lora": lc.training_identity(), "dtype": cfg.model.dtype}
    return hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:16]


def register_folder(registry: Registry, folder: Path, *, base_fp: str, prefix: str) -> AdapterRef:
    """Register an adapter folder whose ``ragft_adapter.json`` names its base model."""
    check_safetensors_only(folder)
    meta_path = folder / META_FILE
    if not meta_path.is_file():
        raise RagftError(
            f"adapter {folder} has no {META_FILE} naming its base model; register it first with "
            "`ragft adapters register FOLDER --base-model MODEL` and use the printed name"
        )
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    return registry.register(
        folder, base_model=str(meta.get("base_model", "")), prefix=prefix,
        train_data_hash=meta.get("train_data_hash"), config=meta.get("config", {}),
        metrics={k: meta[k] for k in ("train_seconds", "steps", "n_items", "final_loss") if k in meta},
    )


def ensure_adapter(
    cfg: ExperimentConfig, lc: LoraSection | None = None, *, console: Any = None,
    contexts: Contexts | None = None,
) -> tuple[AdapterRef, Path]:
    """The adapter ``lc`` of ``cfg`` (default: the first [lora] table), registered and checked against
    the served base model, and its folder. ``contexts``: the passages of RAFT training items
    (``raft = true``; see ``adapters.data``)."""
    lc = lc or cfg.lora_for(None)
    registry = Registry.default(cfg.resolve_path(lc.registry) if lc.registry else None)
    model_path = resolve_model(cfg.model.id)
    base_fp = fingerprint_model(model_path)
    if lc.adapter:
        if NAME_RE.match(lc.adapter) or ".." in lc.adapter:
            return registry.load(lc.adapter, served_model=base_fp)
        folder = cfg.resolve_path(lc.adapter)
        if not folder.is_dir():
            raise RagftError(f"{cfg.source}: lora '{lc.name}' adapter '{lc.adapter}' is neither a registry name nor a folder ({folder})")
        ref = register_folder(registry, folder, base_fp=base_fp, prefix=lc.name)
        return registry.load(ref.name, served_model=base_fp)

    from adapters.data import build_training_items, train_data_hash
    from adapters.train import train_adapter

    tok = load_tokenizer(model_path)
    items, skipped = build_training_items(cfg, tok, lc, contexts)
    data_hash = train_data_hash(items)
    key = adapter_key(base_fp, data_hash, cfg, lc)
    out = registry.root / "trained" / key
    if not ((out / META_FILE).is_file() and (out / "adapter_model.safetensors").is_file()):
        if console is not None:
            console.print(
                f"[bold]Training LoRA adapter {lc.name}[/] ({len(items)} items from "
                f"{', '.join(sorted({i.task for i in items}))}; r={lc.rank}) → {out}"
            )
        meta = {
            "base_model": base_fp, "base_model_path": model_path, "train_data_hash": data_hash,
            "config": lc.training_identity(), "tasks": sorted({i.task for i in items}),
            "skipped_too_long": {k: len(v) for k, v in skipped.items()}, "skipped_ids": skipped,
            "max_length": lc.max_length if lc.max_length is not None else cfg.model.max_model_len,
            "fraction": lc.fraction,
            "raft": lc.raft,
        }
        res = train_adapter(cfg, model_path, items, out, tokenizer=tok, meta=meta, lc=lc)
        if console is not None:
            console.print(f"trained {res.steps} steps in {res.train_seconds:.0f} s")
    ref = register_folder(registry, out, base_fp=base_fp, prefix=lc.name)
    return registry.load(ref.name, served_model=base_fp)

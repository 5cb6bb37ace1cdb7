"""One adapter identity: the registry's content hash and int_id are what every backend receives;
base-model matching; rank buckets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adapters.identity import adapter_rank, adapter_spec
from adapters.registry import Registry
from bench.backends.lora import check_adapters, vllm_rank_bucket
from bench.errors import RagftError
from bench.models import fingerprint_model


def fake_adapter(root: Path, r: int = 8, weights: bytes = b"w1") -> Path:
    root.mkdir(parents=True)
    (root / "adapter_config.json").write_text(json.dumps({"r": r, "base_model_name_or_path": "m"}))
    (root / "adapter_model.safetensors").write_bytes(weights)
    return root


def test_identity_follows_content_not_name(tmp_path: Path) -> None:
    reg = Registry(tmp_path / "reg")
    fp = "f" * 16
    a = adapter_spec(*reg.load(reg.register(fake_adapter(tmp_path / "a"), base_model=fp, prefix="a").name, served_model=fp))
    b = adapter_spec(*reg.load(reg.register(fake_adapter(tmp_path / "b"), base_model=fp, prefix="b").name, served_model=fp))
    c = adapter_spec(*reg.load(
        reg.register(fake_adapter(tmp_path / "c", weights=b"w2"), base_model=fp, prefix="a").name, served_model=fp
    ))
    assert a.sha256 == b.sha256 and a.int_id == b.int_id  # same weights, same vLLM id
    assert a.sha256 != c.sha256 and a.int_id != c.int_id and a.name != c.name
    assert a.name.startswith("a-r8@") and a.name.endswith(a.sha256[:6]) and a.rank == 8
    assert Path(a.path).is_dir() and Path(a.path).is_relative_to(tmp_path / "reg")


def test_backends_refuse_other_base_models(tmp_path: Path, tiny_model: Path) -> None:
    reg = Registry(tmp_path / "reg")
    ad = fake_adapter(tmp_path / "ad")
    other = adapter_spec(*reg.load(reg.register(ad, base_model="0" * 16, prefix="x").name, served_model="0" * 16))
    with pytest.raises(RagftError, match="trained on base model 0000"):
        check_adapters({"x": other}, str(tiny_model))
    fp = fingerprint_model(str(tiny_model))
    mine = other.model_copy(update={"base_model": fp})
    assert check_adapters({"x": mine}, str(tiny_model))["x"].int_id == other.int_id
    clash = mine.model_copy(update={"name": "y", "sha256": "1" * 64})
    with pytest.raises(RagftError, match="same int_id"):
        check_adapters({"x": mine, "y": clash}, str(tiny_model))
    with pytest.raises(RagftError, match="AdapterSpec"):
        check_adapters({"x": str(ad)}, str(tiny_model))  # type: ignore[dict-item]


def test_rank_buckets_and_bad_adapters(tmp_path: Path) -> None:
    assert [vllm_rank_bucket(r) for r in (1, 4, 8, 9, 300, 512)] == [1, 8, 8, 16, 320, 512]
    with pytest.raises(RagftError, match="above the largest rank"):
        vllm_rank_bucket(1024)
    with pytest.raises(RagftError, match="adapter_config.json"):
        adapter_rank(tmp_path)
    bad = fake_adapter(tmp_path / "bad", r=0)
    with pytest.raises(RagftError, match="field 'r'"):
        adapter_rank(bad)
    pattern = fake_adapter(tmp_path / "pat", r=8)
    (pattern / "adapter_config.json").write_text(json.dumps({"r": 8, "rank_pattern": {"q_proj": 32}}))
    assert adapter_rank(pattern) == 32

"""LoRA checks shared by the serving backends (no torch, no vllm imports).

Adapters arrive as ``AdapterSpec`` (``bench.types``): the registry's identity — content hash,
``int_id`` never reused for other weights, rank and the fingerprint of the base model it was
trained on. A backend refuses an adapter trained on another base model than the one it serves,
and two names for different weights under one ``int_id``.

Example: ``check_adapters(specs, "/models/qwen")``
"""

from __future__ import annotations

from collections.abc import Mapping

from bench.errors import RagftError
from bench.models import fingerprint_model
from bench.types import AdapterSpec

# vLLM accepts only these values for max_lora_rank.
VLLM_LORA_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)


def vllm_rank_bucket(rank: int) -> int:
    """The smallest ``max_lora_rank`` value vLLM accepts that holds ``rank``."""
    for r in VLLM_LORA_RANKS:
        if r >= rank:
            return r
    raise RagftError(f"LoRA rank {rank} is above the largest rank vLLM supports ({VLLM_LORA_RANKS[-1]})")


def check_adapters(adapters: Mapping[str, AdapterSpec], model_path: str) -> dict[str, AdapterSpec]:
    """Every adapter must be trained on the served model; distinct weights need distinct ids."""
    served = fingerprint_model(model_path)
    by_id: dict[int, AdapterSpec] = {}
    for name, spec in adapters.items():
        if not isinstance(spec, AdapterSpec):
            raise RagftError(
                f"adapter '{name}': backends take registered adapters (AdapterSpec from adapters.identity), "
                f"got {type(spec).__name__}"
            )
        if spec.base_model != served:
            raise RagftError(
                f"adapter '{name}' ({spec.path}) was trained on base model {spec.base_model}, but the served "
                f"model {model_path} is {served}; serve the adapter's base model or retrain the adapter"
            )
        other = by_id.get(spec.int_id)
        if other is not None and other.sha256 != spec.sha256:
            raise RagftError(f"adapters '{other.name}' and '{spec.name}' have the same int_id with other weights")
        by_id[spec.int_id] = spec
    return dict(adapters)

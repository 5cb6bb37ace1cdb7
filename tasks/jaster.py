"""Reading llm-jp-eval "jaster" evaluation files: ``{root}/{split}/{dataset}.json`` with
``instruction``, ``output_length``, ``metrics``, ``few_shots``, ``samples`` and the newer optional
fields (``label_list``, ``answer_extract_pattern``, ``num_few_shots``, ``custom_prompt_template``);
errors name the file, the sample and the field.

Example: ``task = load_jaster("jnli", Path("data/2.0.0"), "jnli")``
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.errors import InputError
from bench.types import Example
from tasks.loaders import KNOWN_METRICS, Task, _check_keys, _str, read_json

log = logging.getLogger(__name__)


def _nfkc(s: str) -> str:
    return unicodedata.normalize("NFKC", s)


def _jaster_samples(data: dict[str, Any], key: str, path: Path) -> list[tuple[str, str]]:
    raw = data.get(key, [])
    if not isinstance(raw, list):
        raise InputError(str(path), key, "a list of {input, output}", got=type(raw).__name__)
    out: list[tuple[str, str]] = []
    for i, s in enumerate(raw):
        if not isinstance(s, dict):
            raise InputError(str(path), f"{key}[{i}]", "an object {input, output}", got=s)
        extra = sorted(set(s) - {"input", "output", "metadata"})
        if extra:
            raise InputError(str(path), f"{key}[{i}].{extra[0]}", "only the keys input, output (unknown key)")
        inp = s.get("input", "")
        out_ = s.get("output")
        if not isinstance(inp, str):
            raise InputError(str(path), f"{key}[{i}].input", "a string", got=inp)
        if not isinstance(out_, str):
            raise InputError(str(path), f"{key}[{i}].output", "a string", got=out_)
        out.append((inp, out_))
    return out


@dataclass
class JasterFile:
    """One llm-jp-eval evaluation file, checked."""

    instruction: str
    output_length: int
    metrics: list[str]
    few_shots: list[tuple[str, str]]
    samples: list[tuple[str, str]]
    label_list: list[str] | None = None
    answer_extract_pattern: str | None = None
    num_few_shots: int | None = None
    custom_prompt_template: str | None = None
    sample_metadata: list[dict[str, Any]] = field(default_factory=list)  # per sample ({} when absent)


JASTER_KEYS = {
    "instruction", "output_length", "metrics", "few_shots", "samples", "label_list",
    "answer_extract_pattern", "num_few_shots", "custom_prompt_template",
}


def read_jaster_file(path: Path) -> JasterFile:
    data = read_json(path)
    if not isinstance(data, dict):
        raise InputError(str(path), None, "a JSON object with 'instruction' and 'samples'", got=type(data).__name__)
    _check_keys(data, JASTER_KEYS, path, None)
    instruction = _str(data, "instruction", path, None)
    ol = data.get("output_length")
    if not isinstance(ol, int) or isinstance(ol, bool) or ol < 1:
        raise InputError(str(path), "output_length", "a positive integer", got=ol)
    ms = data.get("metrics")
    if not isinstance(ms, list) or not ms or not all(isinstance(m, str) for m in ms):
        raise InputError(str(path), "metrics", "a non-empty list of metric names", got=ms)
    jf = JasterFile(
        instruction=instruction, output_length=ol, metrics=list(ms),
        few_shots=_jaster_samples(data, "few_shots", path), samples=_jaster_samples(data, "samples", path),
    )
    for i, s in enumerate(data.get("samples", [])):
        m = s.get("metadata")
        m = {} if m is None else m  # null metadata is no metadata
        if not isinstance(m, dict):
            raise InputError(str(path), f"samples[{i}].metadata", "an object", got=m)
        jf.sample_metadata.append(m)
    ll = data.get("label_list")
    if ll is not None:
        if not isinstance(ll, list) or not ll or not all(isinstance(x, str) and x for x in ll):
            raise InputError(str(path), "label_list", "a non-empty list of label strings", got=ll)
        jf.label_list = list(ll)
        for key, rows in (("samples", jf.samples), ("few_shots", jf.few_shots)):
            for i, (_inp, out) in enumerate(rows):
                if out not in ll:
                    raise InputError(str(path), f"{key}[{i}].output", f"one of label_list {ll}", got=out)
    pat = data.get("answer_extract_pattern")
    if pat is not None:
        if not isinstance(pat, str) or not pat:
            raise InputError(str(path), "answer_extract_pattern", "a regular expression string", got=pat)
        try:
            re.compile(pat)
        except re.error as e:
            raise InputError(str(path), "answer_extract_pattern", f"a valid regular expression ({e})", got=pat) from None
        jf.answer_extract_pattern = pat
    nfs = data.get("num_few_shots")
    if nfs is not None:
        if not isinstance(nfs, int) or isinstance(nfs, bool) or nfs < 0:
            raise InputError(str(path), "num_few_shots", "a non-negative integer", got=nfs)
        jf.num_few_shots = nfs
    tpl = data.get("custom_prompt_template")
    if tpl is not None:
        if not isinstance(tpl, str) or "input" not in tpl:
            raise InputError(
                str(path), "custom_prompt_template", "a template string with an {input} placeholder", got=tpl
            )
        jf.custom_prompt_template = tpl
    return jf


def jaster_root(root: Path) -> Path:
    """Accept ``{version}/evaluation``, ``{version}`` (with an ``evaluation`` folder) or a split folder's parent."""
    if (root / "evaluation").is_dir():
        return root / "evaluation"
    return root


def load_jaster(name: str, root: Path, dataset: str) -> Task:
    """llm-jp-eval layout ``root/{train,dev,test}/{dataset}.json`` -> a quiz task.

    ``root`` may also be the version folder that holds ``evaluation/``. Few-shot examples come
    from the train split; when there is none, the file's own ``few_shots`` become the train split.
    """
    root = jaster_root(root)
    splits: dict[str, list[Example]] = {}
    files: dict[str, JasterFile] = {}
    paths: dict[str, Path] = {}
    for split_dir in sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []:
        path = split_dir / f"{dataset}.json"
        if path.is_file():
            files[split_dir.name] = read_jaster_file(path)
            paths[split_dir.name] = path
    if not files:
        raise InputError(str(root), "dataset", f"files {{split}}/{dataset}.json under this folder", got=dataset)
    main_split = "test" if "test" in files else next(iter(files))
    main = files[main_split]
    extract = main.answer_extract_pattern
    for split, jf in files.items():
        splits[split] = [
            Example(
                id=f"{dataset}-{split}-{i:04d}", task=name, kind="quiz", question=inp, reference=out,
                choices=jf.label_list,
                metadata={
                    **(jf.sample_metadata[i] if i < len(jf.sample_metadata) else {}),
                    "split": split, **({"answer_extract_pattern": extract} if extract else {}),
                },
            )
            for i, (inp, out) in enumerate(jf.samples)
        ]
    notes: list[str] = []
    if "train" not in splits and main.few_shots:
        splits["train"] = [
            Example(
                id=f"{dataset}-fewshot-{i:04d}", task=name, kind="quiz", question=inp, reference=out,
                choices=main.label_list, metadata={"split": "train"},
            )
            for i, (inp, out) in enumerate(main.few_shots)
        ]
        notes.append("no train split: the file's few_shots are used as the train split")
    unknown = [m for m in main.metrics if m not in KNOWN_METRICS]
    usable = [m for m in main.metrics if m in KNOWN_METRICS]
    if not usable:
        raise InputError(str(paths[main_split]), "metrics", f"at least one of {list(KNOWN_METRICS)}", got=unknown)
    if unknown:
        notes.append(f"metrics not computed by ragft: {unknown}")
        log.warning("%s: metrics %s are not computed by ragft; using %s", name, unknown, usable)
    return Task(
        name=name, kind="quiz", metrics=usable, splits=splits, instruction=main.instruction,
        output_length=main.output_length, source=str(root), label_list=main.label_list,
        answer_extract_pattern=extract, num_few_shots=main.num_few_shots,
        custom_prompt_template=main.custom_prompt_template, notes=notes,
    )

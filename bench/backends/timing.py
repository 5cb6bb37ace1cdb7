"""Device time per request: one pass of a backend (a batch, an engine step loop, a server's busy
time) costs its wall time once, shared over the requests it served by their tokens.

A batched engine does work in proportion to the tokens it processes — the prompt tokens it reads
(prefill) and the tokens it writes (decode) — not to the number of requests, so a request with a
four times longer prompt is charged more of the pass than a short one. Engine start is never part
of a pass: backends time it separately (``start_seconds``) and the runner records it as a fixed
cost. Cached completions and twins carry the ``device_s`` of the generation they copy and are not
members of any pass.

Example: ``share_by_tokens(2.0, [(100, 10), (300, 10)])  # -> [0.523…, 1.476…]``
"""

from __future__ import annotations

from collections.abc import Sequence


def token_weight(prompt_tokens: int, output_tokens: int) -> int:
    """Tokens a request made the engine process (at least 1, so an empty request is still charged)."""
    return max(1, int(prompt_tokens) + int(output_tokens))


def share_by_tokens(seconds: float, tokens: Sequence[tuple[int, int]]) -> list[float]:
    """``seconds`` split over requests in proportion to ``prompt + output`` tokens; sums to ``seconds``."""
    if not tokens:
        return []
    w = [token_weight(p, o) for p, o in tokens]
    total = sum(w)
    return [max(0.0, float(seconds)) * x / total for x in w]


def busy_seconds(intervals: Sequence[tuple[float, float]]) -> float:
    """Length of the union of ``(start, end)`` intervals: the time a server had work in flight."""
    total = 0.0
    cur_s: float | None = None
    cur_e = 0.0
    for s, e in sorted(intervals):
        if cur_s is None or s > cur_e:
            if cur_s is not None:
                total += cur_e - cur_s
            cur_s, cur_e = s, e
        else:
            cur_e = max(cur_e, e)
    if cur_s is not None:
        total += cur_e - cur_s
    return total

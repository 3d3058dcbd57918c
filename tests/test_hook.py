"""The per-step hook and recording levels: they see everything and change nothing."""

from __future__ import annotations

from tiny_models import TinyTokenizer, make_tiny

import trviz
import trviz.text
import trviz.views

PROMPT = [5, 17, 33, 5, 17, 60, 7, 5, 17]


def _run(record, on_step=None, tree="2.2.2"):
    model, tok = make_tiny("llama", seed=3), TinyTokenizer()
    return trviz.generate(
        model, tok, PROMPT, 40, config={"tree": tree}, record=record, on_step=on_step
    )


def test_recording_levels_never_change_tokens():
    runs = [_run(level) for level in ("none", "summary", "full")]
    seen = []
    runs.append(_run("full", on_step=seen.append))
    assert all(r.tokens == runs[0].tokens for r in runs)
    assert runs[0].trace is None
    assert len(seen) == runs[-1].stats.steps == len(runs[-1].trace)


def test_full_records_are_consistent_with_the_output():
    r = _run("full")
    out = []
    for s in r.trace:
        tree = trviz.Tree(s.parents, s.ranks)
        assert s.tokens[0] == s.root
        # each accepted node carries the model's argmax at its parent, along one path
        path = (0, *s.accepted)
        assert path == tree.ancestors[path[-1]]
        for node in s.accepted:
            assert s.tokens[node] == s.argmax[s.parents[node]]
        assert s.bonus == s.argmax[path[-1]]
        expected = [s.tokens[n] for n in s.accepted] + [s.bonus]
        assert list(s.committed) == expected[: len(s.committed)]
        # drafted children read their parent's row at their rank
        for i in range(1, len(s.tokens)):
            parent_tok = s.tokens[s.parents[i]]
            if parent_tok >= 0:
                assert s.tokens[i] == s.rows_read[parent_tok][s.ranks[i]]
        # each written row is the node's top-k, whose first entry is the node's argmax
        assert {w.token for w in s.rows_written} == {t for t in s.tokens if t >= 0}
        for w in s.rows_written:
            assert w.new[0] == s.argmax[w.node]
        assert set(s.timings) == {"draft", "forward", "verify", "compact", "update"}
        out += s.committed
    assert out == r.tokens
    assert r.trace.meta["new_tokens"] == r.tokens
    assert r.trace.mat == r.stats.mat


def test_rows_written_show_old_and_new_values():
    r = _run("full")
    first, second = r.trace[0], r.trace[1]
    # a fresh matrix: every old row of the first step is unwritten (-1)
    assert all(set(w.old) == {-1} for w in first.rows_written)
    # what step 0 wrote is what step 1 read
    written = {w.token: w.new for w in first.rows_written}
    for tok, row in second.rows_read.items():
        if tok in written:
            assert row == written[tok]


def test_a_live_trace_renders_views_while_the_run_goes_on():
    """LiveTrace keeps token strings as the steps arrive: views work from inside the hook."""
    model, tok = make_tiny("llama", seed=3), TinyTokenizer()
    drawn = []

    def draw(rec):
        drawn.append(trviz.text.tree_text(live.trace, rec.step))
        drawn.append(trviz.views.tree_figure(live.trace, rec.step).layout.title.text)

    live = trviz.LiveTrace(tok, then=draw)
    r = trviz.generate(model, tok, PROMPT, 12, config={"tree": "tr-8"}, on_step=live)
    assert len(live.trace) == len(r.trace) and len(drawn) == 2 * len(r.trace)
    assert live.trace.steps == r.trace.steps
    known = live.trace.meta["token_strings"]
    assert {t: known[t] for t in known} == {t: r.trace.meta["token_strings"][t] for t in known}
    assert drawn[0] == trviz.text.tree_text(r.trace, r.trace.steps[0].step)

"""Benchmark tables (terminal, Markdown) and plotly figures, in the paper's layout.

Pure functions of a :class:`~trviz.bench.result.BenchResult` (or a sweep dict): they return
strings or figures and never display, write or touch the network. No torch here.
"""

from __future__ import annotations

from typing import Any

from trviz.bench.result import BenchResult
from trviz.bench.suite import SHORT_NAMES


def speedup_rows(result: BenchResult) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the paper-style table: speedup per category, then overall columns."""
    cats = result.categories
    head = ["method", *(SHORT_NAMES.get(c, c) for c in cats), "MAT", "tok/s", "speedup",
            "CPU-time speedup", "exact"]  # fmt: skip
    per_cat, summary = result.per_category, result.summary
    rows = []
    for m in result.methods:
        s = summary[m]
        rows.append(
            [
                m,
                *(f"{per_cat[c][m]['speedup']:.2f}x" for c in cats),
                f"{s['mat']:.2f}",
                f"{s['tokens_per_s']:.1f}",
                f"{s['speedup']:.2f}x",
                "-" if s.get("cpu_speedup") is None else f"{s['cpu_speedup']:.2f}x",
                f"{s['exact_fraction']:.0%}",
            ]
        )
    return head, rows


def mat_rows(result: BenchResult) -> tuple[list[str], list[list[str]]]:
    """Header and rows of MAT per category (mean tokens per target forward)."""
    cats = result.categories
    head = ["method", *(SHORT_NAMES.get(c, c) for c in cats), "overall"]
    per_cat, summary = result.per_category, result.summary
    rows = [
        [m, *(f"{per_cat[c][m]['mat']:.2f}" for c in cats), f"{summary[m]['mat']:.2f}"]
        for m in result.methods
    ]
    return head, rows


def header_line(result: BenchResult) -> str:
    """One line saying what was measured, where, and with which TR trees."""
    meta = result.meta
    where = meta.get("gpu") or f"{meta.get('cpu')} ({meta.get('threads')} threads)"
    load = meta.get("load_start", [None])[0]
    trees = [f"{m}: {i['tree']} ({_tokens_per_forward(result, m, i)} tokens/forward)"
             for m, i in meta.get("method_info", {}).items() if "tree" in i]  # fmt: skip
    parts = [
        meta["model"], meta["dtype"], f"{meta['device']}: {where}",
        f"{meta['max_new_tokens']} new tokens", f"start {meta['start']}",
        f"{len(result.per_prompt)} turns of {meta['questions']} questions",
        f"repeats {meta['repeats']}", f"load at start {load:.2f}" if load is not None else "",
        *trees, "INTERRUPTED" if result.interrupted else "",
    ]  # fmt: skip
    return " | ".join(p for p in parts if p)


def _tokens_per_forward(result: BenchResult, method: str, info: dict[str, Any]) -> str:
    """A static tree's size, or a per-step budget's measured mean (when the run measured it)."""
    if info.get("tree_size") is not None:
        return str(info["tree_size"])
    mean = result.summary.get(method, {}).get("tokens_per_forward")
    return f"mean {mean:.1f}" if mean else "varying"


def _short_where(result: BenchResult) -> str:
    meta = result.meta
    model = str(meta["model"]).rstrip("/").rsplit("/", 1)[-1]
    return f"{model}, {meta['dtype']}, {meta['device']}, {meta['max_new_tokens']} new tokens"


def to_text(result: BenchResult) -> str:
    """The terminal report: both tables, aligned, plus any exactness failures."""
    parts = [header_line(result), contention_line(result), "",
             f"speedup over {result.baseline} (tokens/s ratio)"]  # fmt: skip
    parts.append(_aligned(*speedup_rows(result)))
    parts += ["", "MAT (tokens per target forward)", _aligned(*mat_rows(result))]
    parts += _exactness_lines(result)
    return "\n".join(parts)


def to_markdown(result: BenchResult) -> str:
    """The same report as Markdown (what docs/benchmarks.md shows)."""
    parts = [
        f"_{header_line(result)}; {contention_line(result)}_",
        "",
        f"Speedup over `{result.baseline}` per category:",
        "",
        _md_table(*speedup_rows(result)),
        "",
        "MAT per category:",
        "",
        _md_table(*mat_rows(result)),
    ]
    parts += _exactness_lines(result)
    return "\n".join(parts) + "\n"


def contention_line(result: BenchResult) -> str:
    """How busy other processes kept the machine while the calls were timed."""
    values = [m["others_cores"] for r in result.per_prompt for m in r["methods"].values()
              if m.get("others_cores") is not None]  # fmt: skip
    if not values:
        return "contention: not measured"
    return (
        f"contention: other processes kept {sum(values) / len(values):.2f} of "
        f"{result.meta.get('cpu_count')} cores busy on average during the timed calls "
        f"(max {max(values):.2f})"
    )


def _exactness_lines(result: BenchResult) -> list[str]:
    bad = result.mismatches
    if not bad:
        return ["", f"all outputs identical to {result.baseline}"]
    kind = "ERROR" if result.meta.get("exact_required") else "note"
    lines = [
        "",
        f"{kind}: {len(bad)} outputs differ from {result.baseline} ({result.meta['dtype']}):",
    ]
    lines += [
        f"  {b['method']} on {b['question_id']} turn {b['turn']}: first difference at "
        f"new token {b['first_diff']}"
        for b in bad[:20]
    ]
    return lines


def _aligned(head: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]

    def line(row: list[str]) -> str:
        pairs = enumerate(zip(row, widths, strict=True))
        cells = [c.rjust(w) if i else c.ljust(w) for i, (c, w) in pairs]
        return "  ".join(cells)

    return "\n".join(line(r) for r in [head, *rows])


def _md_table(head: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


# ----- figures ----------------------------------------------------------------------------------


def speedup_figure(result: BenchResult):
    """Grouped bars: speedup over the baseline per category (and overall), one colour per method."""
    import plotly.graph_objects as go

    cats = result.categories
    labels = [SHORT_NAMES.get(c, c) for c in cats] + ["overall"]
    per_cat, summary = result.per_category, result.summary
    fig = go.Figure()
    for m in result.methods:
        ys = [per_cat[c][m]["speedup"] for c in cats] + [summary[m]["speedup"]]
        fig.add_bar(name=m, x=labels, y=ys, text=[f"{y:.2f}" for y in ys])
    fig.add_hline(y=1.0, line_dash="dot", line_color="grey")
    fig.update_layout(
        barmode="group",
        title=f"Speedup over {result.baseline} per category: {_short_where(result)}",
        yaxis_title="speedup (tokens/s ratio)",
        title_font_size=12,
    )
    return fig


def mat_speedup_figure(result: BenchResult):
    """MAT against speedup, one marker per method (overall) and small ones per category."""
    import plotly.graph_objects as go
    from plotly.colors import qualitative

    fig = go.Figure()
    cats = result.per_category
    for i, m in enumerate(result.methods):
        color = qualitative.Plotly[i % len(qualitative.Plotly)]  # the bars' colours, in order
        fig.add_scatter(
            x=[cats[c][m]["mat"] for c in cats],
            y=[cats[c][m]["speedup"] for c in cats],
            mode="markers",
            marker={"size": 8, "color": color, "opacity": 0.45},
            hovertemplate="%{text}: MAT %{x:.2f}, speedup %{y:.2f}x",
            name=f"{m} per category",
            text=[SHORT_NAMES.get(c, c) for c in cats],
            legendgroup=m,
            showlegend=False,
        )
        s = result.summary[m]
        fig.add_scatter(
            x=[s["mat"]],
            y=[s["speedup"]],
            mode="markers+text",
            text=[m],
            textposition="top center",
            marker={"size": 14, "color": color},
            name=m,
            legendgroup=m,
        )
    fig.add_hline(y=1.0, line_dash="dot", line_color="grey")
    fig.update_layout(
        title="MAT vs speedup: tokens per forward only pay if a forward stays cheap",
        xaxis_title="MAT (tokens per target forward)",
        yaxis_title="speedup",
        title_font_size=12,
    )
    return fig


def cost_curve_figure(sweep: dict[str, Any]):
    """Forward cost over q new tokens (relative to q=1) with each tree's break-even and MAT."""
    import plotly.graph_objects as go

    qs = sorted(int(q) for q in sweep["cost_s"])
    base = _cost(sweep, 1)
    rel = [_cost(sweep, q) / base for q in qs]
    fig = go.Figure()
    fig.add_scatter(x=qs, y=rel, mode="lines+markers", name="forward cost (x one token)")
    trees = sweep["trees"]
    fig.add_scatter(
        x=[t["size"] for t in trees.values()],
        y=[t["mat"] for t in trees.values()],
        mode="markers+text",
        text=list(trees),
        textposition="top center",
        marker_symbol="diamond",
        marker_size=11,
        name="MAT reached",
    )
    fig.add_scatter(
        x=[t["size"] for t in trees.values()],
        y=[t["break_even_mat"] for t in trees.values()],
        mode="markers",
        marker_symbol="x",
        marker_size=9,
        name="break-even MAT",
    )
    fig.update_layout(
        title=f"{sweep['model']} {sweep['dtype']} on {sweep['device']}: a tree pays "
        "when its MAT is above its break-even (best: "
        f"{sweep['best_tree']})",
        xaxis_title="tokens per forward (tree size q)",
        yaxis_title="cost relative to q=1  /  tokens per forward",
        title_font_size=12,
    )
    return fig


def _cost(sweep: dict[str, Any], q: int) -> float:
    return sweep["cost_s"][str(q)]  # JSON keys are strings


def sweep_text(sweep: dict[str, Any]) -> str:
    """The sweep as a terminal table: per tree its size, MAT, break-even MAT, predicted speedup."""
    base = _cost(sweep, 1)
    head = [
        "tree",
        "tokens/forward",
        "forward x q=1",
        "step ms",
        "MAT",
        "break-even MAT",
        "predicted speedup",
    ]
    rows = [
        [
            name,
            str(t["size"]),
            f"{t['forward_s'] / base:.2f}",
            f"{t['step_s'] * 1e3:.1f}",
            f"{t['mat']:.2f}",
            f"{t['break_even_mat']:.2f}",
            f"{t['predicted_speedup']:.2f}x",
        ]
        for name, t in sweep["trees"].items()
    ]
    curve = "  ".join(
        f"q={q}: {_cost(sweep, q) / base:.2f}x" for q in sorted(int(q) for q in sweep["cost_s"])
    )
    note = [
        f"(each tree as the static config drafts it: plus a {sweep['copy']}-node "
        "longest-match copy branch, counted in tokens/forward)"
    ] if sweep.get("copy") else []  # fmt: skip
    return "\n".join(
        [
            f"{sweep['model']} | {sweep['dtype']} | {sweep['device']} | {sweep['threads']} threads",
            f"forward cost over q new tokens (one token = {base * 1e3:.1f} ms): {curve}",
            "",
            _aligned(head, rows),
            *note,
            "",
            f"best tree on this device: {sweep['best_tree']} (the default config's "
            "tree='auto' uses it once this sweep is cached)",
        ]
    )

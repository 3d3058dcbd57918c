"""One colour scheme and one vocabulary for every view, caption and text twin.

Every meaning a picture can carry (a node's origin and outcome, a matrix cell's role, where an
accepted draft's matrix entry came from) is one :class:`Look` in :data:`LOOKS`: the word the legend
and captions use, the colour, the mark the text twins print and the marker shape. Panels never pick
colours of their own, so the same colour means the same thing everywhere (docs/views.md lists the
table). A new status is one more entry here, as ``pruned`` was for the per-step budget.

Colours are the Okabe-Ito palette (Okabe & Ito 2008, "Color Universal Design"), chosen to stay
distinguishable under the common colour-vision deficiencies; shapes repeat the key distinctions
(diamond = bonus, square = copied from the context, hexagon = placeholder, open with a dot =
pruned: drafted but never verified). Stdlib only.
"""

from __future__ import annotations

from dataclasses import dataclass

BLACK, ORANGE, SKY, GREEN = "#000000", "#E69F00", "#56B4E9", "#009E73"
YELLOW, BLUE, VERMILLION, PURPLE = "#F0E442", "#0072B2", "#D55E00", "#CC79A7"
GREY, LIGHT_GREY = "#A6A6A6", "#DDDDDD"
# neutrals: text, outlines, edges, grids (no meaning of their own)
INK, DARK, MUTED, RULE = "#222222", "#555555", "#9A9A9A", "#888888"
EDGE, GRID, FAINT, WHITE = "#B8C2CC", "#EEEEEE", "#F2F2F2", "#FFFFFF"
NEUTRALS = (INK, DARK, MUTED, RULE, EDGE, GRID, FAINT, WHITE, BLACK)
TINTS = (0.35, 0.4, 0.5, 0.6)  # the tints views use for large areas


@dataclass(frozen=True)
class Look:
    """How one meaning is drawn and named."""

    word: str  # captions, hover, docs
    color: str  # markers, marks, bars
    mark: str = ""  # what the text twins print for it
    symbol: str = "circle"  # plotly marker symbol
    short: str = ""  # the legend's word (default: ``word`` up to its first colon)

    @property
    def label(self) -> str:
        """The legend's word."""
        return self.short or self.word.split(":")[0]

    @property
    def fill(self) -> str:
        """A light tint of ``color`` for large areas (matrix cells, text boxes) under dark text."""
        return tint(self.color, 0.4)


LOOKS: dict[str, Look] = {
    # node origin: how the draft got its token
    "root": Look("root: the last committed token", BLACK),
    "drafted": Look("drafted from a matrix row", SKY, "r", short="drafted (matrix)"),
    "copied": Look(
        "copied from the context (prompt lookup)", PURPLE, "c", "square", "copied (context)"
    ),
    "placeholder": Look(
        "placeholder: read from a never-written row (the paper's zero fill)", YELLOW, "?", "hexagon"
    ),
    "empty": Look("empty slot: nothing to draft", GREY, "∅", "circle-open", "empty"),
    "pruned": Look(
        "pruned by the budget: drafted, never verified",
        MUTED,
        "·",
        "circle-open-dot",
        "pruned (not verified)",
    ),
    # verification and outcome
    "match": Look("matches the model's pick after its parent", GREEN, "✓"),
    "mismatch": Look("differs from the model's pick after its parent", VERMILLION, "✗"),
    "accepted": Look("accepted (committed)", GREEN, "✓", short="accepted"),
    "rejected": Look("rejected", GREY, " "),
    "bonus": Look("bonus: the model's own next token", ORANGE, "+", "diamond"),
    "dropped": Look("bonus dropped: the run stopped first", ORANGE, "-", "diamond-open"),
    # matrix rows
    "read": Look("row read: its entries became tree nodes", SKY, short="row read"),
    "rewritten": Look("row rewritten by the update (changed entries)", BLUE, short="row rewritten"),
    "attends": Look("attends (the node itself or an ancestor)", LIGHT_GREY),
    "current": Look("committed by this step", BLACK),
    # where an accepted draft's matrix entry came from (trviz.recycling)
    "from_path": Look("written by a node on an earlier accepted path", GREEN),
    "from_rejected": Look("written by a rejected node: trash turned treasure", VERMILLION),
    "from_seed": Look("written by the prefill seed", SKY),
    "from_hot_start": Look("written before the trace began (hot start)", LIGHT_GREY),
    "from_placeholder": Look("a never-written row's placeholder", YELLOW),
    "from_lookup": Look("copied from the context (prompt lookup)", PURPLE),
}


def look(name: str) -> Look:
    """The :class:`Look` of ``name`` (a key of :data:`LOOKS`)."""
    return LOOKS[name]


def tint(color: str, amount: float) -> str:
    """``color`` (``#rrggbb``) mixed with white: ``amount`` 1 keeps it, 0 gives white."""
    rgb = [int(color[i : i + 2], 16) for i in (1, 3, 5)]
    mixed = [round(255 - (255 - c) * amount) for c in rgb]
    return "#" + "".join(f"{c:02X}" for c in mixed)


def palette() -> set[str]:
    """Every colour a view may use: the looks' colours, their tints, and the neutrals."""
    colors = {lk.color for lk in LOOKS.values()} | set(NEUTRALS)
    return colors | {tint(c, a) for c in colors for a in TINTS}


def legend_html(names: tuple[str, ...] | list[str], sep: str = "   ") -> str:
    """One legend line for plotly text: a coloured shape and the word of each look."""
    shapes = {"diamond": "◆", "diamond-open": "◇", "square": "■", "hexagon": "⬢",
              "circle-open": "○", "circle-open-dot": "◌"}  # fmt: skip
    parts = []
    for name in names:
        lk = LOOKS[name]
        glyph = shapes.get(lk.symbol, "●")
        parts.append(f"<span style='color:{lk.color}'>{glyph}</span> {lk.label}")
    return sep.join(parts)

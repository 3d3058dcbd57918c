"""Views: pure functions of a :class:`~trviz.trace.Trace` returning plotly figures.

One function per view (steps are named by their step number, ``StepRecord.step``):

- ``tree_figure(trace, step)``: the draft tree, accepted path and bonus token highlighted
- ``matrix_figure(trace, step)``: the matrix rows read and rewritten (old -> new)
- ``mask_figure(trace, step)``: the tree attention mask, tokens on both axes
- ``text_figure(trace, upto=None)``: the generated text coloured by step (drafts vs bonus)
- ``accepted_figure(trace)``: accepted length per step and its histogram
- ``mat_figure(trace)``: MAT over time
- ``speed_figure(trace, greedy=None)``: cumulative tokens vs seconds, against greedy

Layouts are computed (networkx for the tree), never random, and no figure carries a uid, so the
figure JSON is deterministic. Views never import torch and never call ``display()``.
"""

from trviz.views.generated import text_figure, text_panel
from trviz.views.mask import mask_figure, mask_panel
from trviz.views.matrix import matrix_figure, matrix_panel
from trviz.views.stats import accepted_figure, mat_figure, speed_figure
from trviz.views.tree import tree_figure, tree_panel

VIEWS = {
    "tree": tree_figure,
    "matrix": matrix_figure,
    "mask": mask_figure,
    "text": text_figure,
    "accepted": accepted_figure,
    "mat": mat_figure,
    "speed": speed_figure,
}

__all__ = [
    "tree_figure", "matrix_figure", "mask_figure", "text_figure", "accepted_figure",
    "mat_figure", "speed_figure", "tree_panel", "matrix_panel", "mask_panel", "text_panel",
    "VIEWS",
]  # fmt: skip

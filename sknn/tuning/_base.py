"""The stages' common ground: their names, their base class, their result."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

STAGES = ("learning_rate_threshold", "epochs", "lmbda", "learning_rate", "batch_size")
"""The stages of chapter 3's recipe, in the order the book takes them."""


@dataclass
class StageResult:
    """What one stage of :class:`BookSearchCV` tried, chose and why.

    Attributes
    ----------
    name : str
        The stage, one of :data:`STAGES`.
    param : str
        The estimator parameter it sets, with its pipeline prefix, e.g.
        ``"mlpclassifierbook__lmbda"``.
    tried : list
        Every value tried, in increasing order.
    chosen : object
        The value carried into the later stages and the final model.
    reason : str
        One line saying why, e.g. ``"learning rate 10 diverged in epoch 1;
        threshold 1; chose 0.5"``.
    cv_results : list of dict
        The ``cv_results_`` of each scikit-learn search the stage ran, in
        order (the lambda stage runs two: by factors of ten, then refined).
        Empty for the stages that are decided without cross-validation.
    score : float or None
        The mean cross-validated score of the chosen value; None for the
        stages that are not scored.
    details : dict
        What the report and the plots are drawn from: training costs per
        learning rate, best epochs per fold, fit times per batch size, ...
    """

    name: str
    param: str
    tried: list
    chosen: Any
    reason: str
    cv_results: list = field(default_factory=list)
    score: float | None = None
    details: dict = field(default_factory=dict)


class _Stage:
    """One step of the recipe: which parameter it sets, and which others it touches."""

    name = ""
    param = ""

    def uses(self, stages):
        """Every estimator parameter the stage sets, to check before fitting."""
        return (self.param, "monitor")

    def run(self, run):
        raise NotImplementedError

    def describe(self, result):
        """The report's lines for ``result`` (besides its one-line reason)."""
        return []

    def plot(self, result, ax):
        raise NotImplementedError

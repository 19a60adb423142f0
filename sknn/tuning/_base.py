"""What the stages and the search share: stage names, results, the network, Ctrl-C.

A stage sets one parameter of the network: it fits candidates through the
``_Run`` it is given, hands what it measured to a rule in ``_decisions``,
and returns a :class:`StageResult`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sklearn.pipeline import Pipeline

from .._classifier import MLPClassifierBook
from ._decisions import _fmt


class SearchInterruptedWarning(UserWarning):
    """The search was interrupted (Ctrl-C); the model uses the values chosen so far."""


def _estimator_has(attribute):
    """For ``available_if``: whether the tuned (or, before fit, the given) estimator has it."""

    def check(self):
        if hasattr(self, "best_estimator_"):
            return hasattr(self.best_estimator_, attribute)
        return hasattr(self.estimator, attribute)

    return check


def _find_network(estimator):
    """Return the MLPClassifierBook that ``estimator`` is or ends in, and its prefix.

    Raises
    ------
    TypeError
        If ``estimator`` is neither an MLPClassifierBook nor a Pipeline whose
        last step is one (pipelines may nest).
    """
    network, prefix, where = estimator, "", "estimator"
    while isinstance(network, Pipeline):
        if not network.steps:
            raise TypeError(f"BookSearchCV got an empty Pipeline as {where}.")
        name, network = network.steps[-1]
        prefix += f"{name}__"
        where = f"the Pipeline's last step {name!r}"
    if not isinstance(network, MLPClassifierBook):
        raise TypeError(
            "BookSearchCV tunes sknn.MLPClassifierBook, on its own or as the last "
            f"step of a Pipeline; {where} is a {type(network).__name__}."
        )
    return network, prefix


STAGES = (
    "learning_rate_threshold",
    "epochs",
    "activation",
    "architecture",
    "lmbda",
    "learning_rate",
    "cost",
    "momentum",
    "schedule",
    "dropout",
    "batch_size",
)
"""The stages of chapter 3's recipe, in the order they run.

The book's order for eta, the epochs, lambda, eta again and the mini-batch
size; the neurons and the network's shape come once eta and the epochs give
quick, meaningful scores, and before lambda, whose best value depends on the
network's size. The output layer's cost (the book finds sigmoid with
cross-entropy and softmax with log-likelihood close), momentum, the schedule
and dropout refine a network that is already good, and are the first to go
when the budget runs short.
"""


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
        A grid search does not fit again a value an earlier stage scored
        with the same settings: its row (``scored_earlier``) carries that
        score, with NaN times.
        Empty for the stages that are decided without cross-validation.
    score : float or None
        The mean cross-validated score of the chosen value; None for the
        stages that are not scored.
    details : dict
        What the report and the plots are drawn from: training costs per
        learning rate, best epochs per fold, fit times per batch size, ...
    also : dict
        Other parameters the choice brings with it, by their (prefixed)
        names: the learning rate re-tuned for a new architecture, the
        initializer that suits an activation.
    skipped : bool
        True when the stage did not run, for lack of time or fits left in
        the budget (``max_time``, ``max_fits``), or was interrupted; the
        parameter then keeps its value so far.
    pass_number : int
        Which pass over the stages ran it (see ``max_passes``).
    """

    name: str
    param: str
    tried: list
    chosen: Any
    reason: str
    cv_results: list = field(default_factory=list)
    score: float | None = None
    details: dict = field(default_factory=dict)
    also: dict = field(default_factory=dict)
    skipped: bool = False
    pass_number: int = 1


class _Stage:
    """One step of the recipe: which parameter it sets, and which others it touches."""

    name = ""
    param = ""
    repeated = True
    """Whether the stage runs again in later passes: those that keep the
    setting so far unless another scores better, so they cannot undo a gain."""

    def uses(self, stages):
        """Every estimator parameter the stage sets, to check before fitting."""
        return (self.param, "monitor")

    def run(self, run):
        raise NotImplementedError

    def planned_units(self, run):
        """The work of each fit the stage will run, to check against the budget.

        None when the stage checks the budget itself, before each batch.
        """
        return None

    def skipped(self, run, why):
        """The result of a stage that did not run: its parameter keeps its value."""
        chosen = run.current(self.param)
        shown = list(chosen) if isinstance(chosen, tuple) else chosen
        return StageResult(
            name=self.name,
            param=run.prefix + self.param,
            tried=[],
            chosen=chosen,
            reason=f"skipped ({why}); kept {_fmt(shown)}",
            details={"rows": []},
            skipped=True,
        )

    def describe(self, result):
        """The report's lines for ``result`` (besides its one-line reason)."""
        return []

    def plot(self, result, ax):
        raise NotImplementedError

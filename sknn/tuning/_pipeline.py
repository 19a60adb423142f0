"""Finding the MLPClassifierBook that BookSearchCV tunes, alone or in a Pipeline."""

from __future__ import annotations

from sklearn.pipeline import Pipeline

from .._classifier import MLPClassifierBook


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


def _final_step(estimator):
    while isinstance(estimator, Pipeline):
        estimator = estimator.steps[-1][1]
    return estimator

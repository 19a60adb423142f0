"""The learning rate ``learning_rate="auto"`` stands for.

One rule, used by every fit that leaves ``learning_rate`` at "auto" and by
:mod:`sknn.persistence` to write the eta a saved model started from; the
reasons for each factor are in :func:`auto_learning_rate`.
"""

from ._fit_checks import _resolve
from .activations import ACTIVATIONS
from .costs import COSTS


def auto_learning_rate(activation, cost, momentum):
    """The learning rate ``learning_rate="auto"`` stands for.

    The book's eta = 0.5 (chapter 3: sigmoid neurons, cross-entropy cost) is
    the starting point; it changes only where another choice changes the size
    of the steps:

    * the quadratic cost's output error carries the factor sigma'(z) <= 1/4
      (eq. 30), so its steps are smaller: eta x 2 (the book trains the
      quadratic cost with a larger eta, 3.0 in chapter 1);
    * tanh's derivative reaches 1 where the sigmoid's reaches 1/4, and ReLUs
      pass gradients unshrunk with unbounded activations: eta x 1/5 for both.
      At eta = 0.5 with momentum 0.9 every ReLU of a digits network dies
      within the first epoch;
    * linear output neurons (regression) have an output error a - y that no
      sigma' bounds, and the step on the output weights grows with the
      squared size of the last hidden layer's activations: eta x 1/10
      (instead of the quadratic cost's x 2);
    * momentum mu makes the steady step eta / (1 - mu) (chapter 3,
      "Momentum-based gradient descent"): eta x (1 - mu) keeps it the same.

    With this rule every hidden activation x cost x momentum in {0, 0.5, 0.9}
    x dropout in {0, 0.5}, all else at its default, reaches at least 0.93
    held-out accuracy on scikit-learn's digits in 15 epochs and passes
    scikit-learn's ``check_classifiers_train``; the test suite checks both.

    Parameters
    ----------
    activation : object
        The hidden activation, from :mod:`sknn.activations`.
    cost : object
        The cost, from :mod:`sknn.costs`.
    momentum : float

    Returns
    -------
    float
    """
    eta = 0.5
    output = getattr(getattr(cost, "output_activation", None), "name", None)
    if output == "identity":
        eta *= 0.1
    elif getattr(cost, "name", None) == "quadratic":
        eta *= 2.0
    if getattr(activation, "name", None) in ("tanh", "relu"):
        eta *= 0.2
    return eta * (1.0 - momentum)


def learning_rate_for(params):
    """The eta a fit with these hyperparameters starts from: a number as given, "auto" resolved.

    Parameters
    ----------
    params : dict
        An estimator's ``get_params()`` (only "learning_rate", "activation",
        "cost" and "momentum" are read; missing ones take their defaults).

    Returns
    -------
    float
    """
    learning_rate = params.get("learning_rate", "auto")
    if not isinstance(learning_rate, str):
        return float(learning_rate)
    return auto_learning_rate(
        _resolve(params.get("activation", "sigmoid"), ACTIVATIONS),
        _resolve(params.get("cost", "cross_entropy"), COSTS),
        float(params.get("momentum", 0.0)),
    )

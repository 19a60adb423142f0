"""Fixtures shared by the test modules."""

import itertools
import signal

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from sknn._network import Network
from sknn.activations import ACTIVATIONS
from sknn.costs import COSTS

try:
    from sknn import _cepoch
except ImportError:  # built without a C compiler
    _cepoch = None

PROBLEM_LAYER_SIZES = (4, 5, 3, 3)
PROBLEM_SAMPLES = 6


@pytest.fixture(scope="session")
def digits_split():
    """sklearn's bundled digits scaled to [0, 1], split 75/25 stratified."""
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16.0, y, random_state=0, stratify=y)


@pytest.fixture(params=_cepoch.available_isas() if _cepoch else ["no kernel"])
def isa(request):
    """Every kernel variant this CPU can run, restored to the default afterwards."""
    if _cepoch is None:
        pytest.skip("the C extension is not built; only numpy trains")
    default = _cepoch.isa()
    _cepoch.set_isa(request.param)
    yield request.param
    _cepoch.set_isa(default)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def _make_problem(activation, cost, seed=0):
    """A random [4, 5, 3, 3] network with 6 samples and one-hot targets.

    Small enough that a central difference over every parameter is quick, deep
    enough that backpropagation passes through two hidden layers.
    """
    rng = np.random.default_rng(seed)
    weights = [
        rng.standard_normal((n_in, n_out)) * 0.8
        for n_in, n_out in itertools.pairwise(PROBLEM_LAYER_SIZES)
    ]
    biases = [rng.standard_normal(n_out) * 0.5 for n_out in PROBLEM_LAYER_SIZES[1:]]
    X = rng.standard_normal((PROBLEM_SAMPLES, PROBLEM_LAYER_SIZES[0]))
    n_classes = PROBLEM_LAYER_SIZES[-1]
    Y = np.eye(n_classes)[rng.integers(0, n_classes, PROBLEM_SAMPLES)]
    network = Network(weights, biases, ACTIVATIONS[activation], COSTS[cost])
    return network, X, Y


def _finite_difference(f, param, eps=1e-6):
    """The central-difference gradient of ``f()`` with respect to ``param``, in place."""
    grad = np.zeros_like(param)
    for index in np.ndindex(param.shape):
        saved = param[index]
        param[index] = saved + eps
        up = f()
        param[index] = saved - eps
        down = f()
        param[index] = saved
        grad[index] = (up - down) / (2 * eps)
    return grad


@pytest.fixture
def make_network_problem():
    """``make_network_problem(activation, cost, seed=0)`` -> (network, X, Y)."""
    return _make_problem


@pytest.fixture
def numerical_gradient():
    """``numerical_gradient(f, param, eps=1e-6)`` -> the numerical gradient."""
    return _finite_difference


def default_sigint():
    """For ``Popen(preexec_fn=...)``: the child takes SIGINT as a terminal gives it.

    A shell without job control starts background commands with SIGINT
    ignored, their children inherit that, and Python then installs no
    KeyboardInterrupt handler: a Ctrl-C test run that way would wait forever.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)

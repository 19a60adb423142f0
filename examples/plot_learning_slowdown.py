"""
The learning slowdown of a sigmoid neuron: quadratic cost against cross-entropy
===============================================================================

Chapter 3 opens with one sigmoid neuron, one input x = 1 and one target y = 0,
trained by gradient descent with eta = 0.15. Started at w = 0.6, b = 0.9 (output
0.82) it learns quickly; started at w = 2, b = 2 (output 0.98, badly wrong) it
barely moves for the first hundred or so epochs. The reason is eq. 55-56: with
the quadratic cost C = (y - a)^2 / 2 (eq. 54) the gradient carries the factor
sigma'(z), which is tiny when the neuron is saturated.

The cross-entropy C = -[y ln a + (1 - y) ln(1 - a)] (eq. 57) has the gradient
x (sigma(z) - y) (eq. 61-62): sigma'(z) cancels, so the neuron learns fastest
when it is most wrong.

The gradients here come from sknn's own cost objects, the ones
:class:`~sknn.MLPClassifierBook` uses for its output layer: ``delta`` writes
dC/dz, and dC/dw = x dC/dz, dC/db = dC/dz (eq. BP3-BP4 for one neuron).
"""

import matplotlib.pyplot as plt
import numpy as np

from sknn.activations import Sigmoid
from sknn.costs import CrossEntropyCost, QuadraticCost

x, y = np.array([[1.0]]), np.array([[0.0]])
eta, epochs = 0.15, 300


def train_neuron(cost, w, b):
    """Return the cost of each epoch of gradient descent on the single example."""
    delta, scratch = np.empty((1, 1)), np.empty((1, 1))
    costs = []
    for _ in range(epochs):
        a = Sigmoid.fn(x * w + b)
        costs.append(cost.fn(a, y)[0])
        cost.delta(a, y, delta, scratch)
        w -= eta * (x * delta).item()
        b -= eta * delta.item()
    return np.array(costs), Sigmoid.fn(x * w + b).item()


# %%
# Both starting points, both costs. Each curve is plotted on its own scale
# (the two costs are different functions), as in the book's figures: what
# matters is the shape, flat at the start or falling at once.

fig, axes = plt.subplots(1, 2, figsize=(9, 3.5), sharey=False)
for ax, (w0, b0) in zip(axes, [(0.6, 0.9), (2.0, 2.0)]):
    a0 = Sigmoid.fn(np.array(w0 + b0)).item()
    for cost in (QuadraticCost, CrossEntropyCost):
        curve, a_end = train_neuron(cost, w0, b0)
        ax.plot(curve / curve[0], label=f"{cost.name}")
        print(
            f"start w={w0}, b={b0} (output {a0:.2f}), {cost.name}: "
            f"output after {epochs} epochs {a_end:.3f}"
        )
    ax.set_title(f"w = {w0}, b = {b0}: initial output {a0:.2f}")
    ax.set_xlabel("epoch")
    ax.set_ylabel("cost / initial cost")
    ax.legend()
fig.tight_layout()

# %%
# From the good start both costs drive the output down quickly. From the
# saturated start the quadratic cost stays on a plateau for about 100 epochs,
# the learning slowdown; the cross-entropy falls from the first epoch. The
# quadratic cost ends at outputs 0.09 and 0.20, the values the book reports
# after 300 epochs from the two starts.

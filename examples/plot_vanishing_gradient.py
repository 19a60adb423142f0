"""
The vanishing gradient, measured
================================

Chapter 5 of *Neural Networks and Deep Learning* asks why deep networks are
hard to train, and answers by measuring each layer's "speed of learning": the
length ||dC/db^l|| of the gradient of the cost with respect to its biases. In a
deep sigmoid network the early layers learn far more slowly than the later
ones, because backpropagation multiplies the error by sigma'(z) <= 1/4 at every
layer it passes back through.

Here an :class:`~sknn.MLPClassifierBook` with four hidden layers of 30 sigmoid
neurons trains on scikit-learn's 8x8 digits with the diagnostics monitors on
(see :mod:`sknn.diagnostics`), and :func:`sknn.plotting.plot_diagnostics`
draws them: the gradient norm of each layer per epoch (log scale), the
fraction of saturated units, and the weight norms.

Run it from any folder; it writes ``vanishing_gradient.png`` there.
"""

import warnings

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits

from sknn import FailedToLearnWarning, MLPClassifierBook
from sknn.plotting import plot_diagnostics

X, y = load_digits(return_X_y=True)
with warnings.catch_warnings():
    # The deep network does not learn in 10 epochs; stop_reason_ says so below.
    warnings.simplefilter("ignore", FailedToLearnWarning)
    deep = MLPClassifierBook(
        hidden_layer_sizes=(30, 30, 30, 30),
        monitor=("gradient_norms", "unit_saturation", "weight_norms"),
        epochs=10,
        random_state=0,
    ).fit(X / 16, y)

first = deep.history_[0]
norms = [first[f"gradient_norm_{layer}"] for layer in range(1, 6)]
print("||dC/db|| per layer after epoch 1:", [f"{n:.2g}" for n in norms])
print(f"The output layer learns {norms[-1] / norms[0]:.0f} times faster than layer 1.")
print(f"Training stopped: {deep.stop_reason_}")

# %%
# Each hidden layer's gradient is several times smaller than the next one's,
# epoch after epoch: the first layer barely moves, and within 10 epochs the
# network learns nothing, as chapter 5 predicts for deep sigmoid networks.

axes = plot_diagnostics(deep)
axes[0].figure.suptitle("Four hidden sigmoid layers on the digits")
plt.savefig("vanishing_gradient.png", dpi=100)
print("Saved vanishing_gradient.png")

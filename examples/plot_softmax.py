"""
Cross-entropy against softmax with the log-likelihood cost
===========================================================

Chapter 3 offers two cures for the learning slowdown at the output layer:
sigmoid outputs with the cross-entropy cost (eq. 63), and a softmax output
layer a_j = e^{z_j} / sum_k e^{z_k} (eq. 78) with the log-likelihood cost
C = -ln a_y (eq. 80). Both give the output error a - y (eq. 66, 81-84), free of
sigma'(z); the quadratic cost (eq. 6) keeps the sigma'(z) factor. The softmax
outputs are positive and sum to one (eq. 79), a probability distribution over
the digits.

``cost`` chooses both the cost and the output layer of
:class:`~sknn.MLPClassifierBook`. All three are trained here with the same
eta = 0.5 on the 8x8 digits (MNIST with ``SKNN_MNIST``). On MNIST,
``SKNN_MNIST=path/to/mnist python examples/plot_softmax.py`` printed after 15
epochs: quadratic 95.79%, cross-entropy 96.28%, log-likelihood 95.84% on the
10,000 validation images. Both cures of the slowdown end within half a point
of each other.
"""

import os

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from sknn import MLPClassifierBook
from sknn.datasets import load_mnist

if os.environ.get("SKNN_MNIST"):
    (X_train, y_train), (X_val, y_val), _ = load_mnist()
else:
    X, y = load_digits(return_X_y=True)
    X_train, X_val, y_train, y_val = train_test_split(
        X / 16, y, test_size=0.25, stratify=y, random_state=0
    )

fig, ax = plt.subplots(figsize=(6, 4))
models = {}
for cost in ("quadratic", "cross_entropy", "log_likelihood"):
    clf = MLPClassifierBook(
        cost=cost,
        learning_rate=0.5,
        lmbda=0.0,
        epochs=15,
        monitor=("validation_accuracy",),
        random_state=0,
    ).fit(X_train, y_train, X_val=X_val, y_val=y_val)
    models[cost] = clf
    accuracy = [100 * r["validation_accuracy"] for r in clf.history_]
    ax.plot(range(1, len(accuracy) + 1), accuracy, marker=".", label=cost)
    print(f"{cost:15s} output layer {clf.out_activation_:8s} last {accuracy[-1]:.2f}%")
ax.set_xlabel("epoch")
ax.set_ylabel("validation accuracy (%)")
ax.set_title("Same network and eta, three costs")
ax.legend()

# %%
# The two slowdown-free costs learn at about the same pace, ahead of the
# quadratic cost at this eta. What differs is the meaning of the outputs:
# softmax activations are probabilities already, while sigmoid outputs are
# independent numbers in (0, 1) that ``predict_proba`` divides by their sum.

sample = X_val[:1]
print("softmax outputs:", np.round(models["log_likelihood"].predict_proba(sample), 3))
print(
    "sigmoid outputs, normalised:",
    np.round(models["cross_entropy"].predict_proba(sample), 3),
)

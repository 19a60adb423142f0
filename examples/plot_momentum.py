"""
Momentum-based gradient descent
===============================

Chapter 3 ("Variations on stochastic gradient descent") replaces the step
w -> w - eta grad C with a velocity v that accumulates the gradients,
v -> mu v - eta grad C, w -> w + v. The momentum coefficient mu in [0, 1)
controls the friction: mu = 0 is plain gradient descent, and mu near 1 lets
the velocity build up along directions where successive gradients agree,
which speeds up progress across long shallow valleys of the cost.

In :class:`~sknn.MLPClassifierBook` mu is ``momentum``. Here the training
cost of each epoch is compared for mu = 0, 0.5 and 0.9 at a small eta = 0.05,
where plain SGD is slow, on the 8x8 digits (MNIST with ``SKNN_MNIST``). On the
50,000 MNIST training images,
``SKNN_MNIST=path/to/mnist python examples/plot_momentum.py`` printed training
costs after 20 epochs of 0.2261 (mu = 0), 0.1910 (mu = 0.5) and 0.1530
(mu = 0.9): with 5,000 steps per epoch, plain SGD already gets far, and
momentum's lead is smaller than on the small digits set.
"""

import os

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits

from sknn import MLPClassifierBook
from sknn.datasets import load_mnist

if os.environ.get("SKNN_MNIST"):
    (X_train, y_train), _, _ = load_mnist()
else:
    X, y = load_digits(return_X_y=True)
    X_train, y_train = X / 16, y

fig, ax = plt.subplots(figsize=(6, 4))
for momentum in (0.0, 0.5, 0.9):
    clf = MLPClassifierBook(
        learning_rate=0.05,
        momentum=momentum,
        lmbda=0.0,
        epochs=20,
        monitor=("training_cost",),
        random_state=0,
    ).fit(X_train, y_train)
    ax.plot(range(1, clf.n_iter_ + 1), clf.loss_curve_, label=f"momentum = {momentum}")
    print(
        f"momentum {momentum}: training cost after 20 epochs {clf.loss_curve_[-1]:.4f}"
    )
ax.set_yscale("log")
ax.set_xlabel("epoch")
ax.set_ylabel("training cost (cross-entropy)")
ax.set_title("eta = 0.05, mini-batches of 10")
ax.legend()

# %%
# With mu = 0.9 the effective step is about eta / (1 - mu) = 10 eta once the
# velocity has built up, so the cost falls much faster per epoch. Momentum is
# not free speed: with a large eta it overshoots just as a larger eta would,
# which is why the book tunes mu together with eta.

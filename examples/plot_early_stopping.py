"""
Early stopping and the learning-rate schedule
=============================================

Chapter 3 ("How to choose a neural network's hyper-parameters?") lets the
validation accuracy decide two things during training:

* **early stopping**, "no-improvement-in-n": stop once the validation accuracy
  has not improved for n epochs (``early_stopping=True``,
  ``n_iter_no_change=n``), and keep the weights of the best epoch;
* **a learning-rate schedule**: instead of stopping, halve eta each time the
  validation accuracy plateaus for n epochs, and stop once eta has fallen to
  1/128 of its first value (``learning_rate_schedule="halving"``,
  ``min_learning_rate_ratio=1/128``).

Both need validation data: ``validation_fraction`` holds out a stratified
part of the training data (or ``fit`` takes ``X_val`` and ``y_val``). The
book's full-MNIST variant uses the 10,000 validation images; with
``SKNN_MNIST`` set this example does too.
``SKNN_MNIST=path/to/mnist python examples/plot_early_stopping.py`` printed::

    early stopping: stopped after epoch 18 (early_stopping), kept epoch 13, test accuracy 96.10%
    halving schedule: 69 epochs (learning_rate_floor), kept epoch 49, test accuracy 96.17%
"""

import os

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from sknn import MLPClassifierBook
from sknn.datasets import load_mnist
from sknn.plotting import plot_history

if os.environ.get("SKNN_MNIST"):
    (X_train, y_train), (X_val, y_val), (X_test, y_test) = load_mnist()
else:
    X, y = load_digits(return_X_y=True)
    X_rest, X_test, y_rest, y_test = train_test_split(
        X / 16, y, test_size=0.25, stratify=y, random_state=0
    )
    X_train, X_val, y_train, y_val = train_test_split(
        X_rest, y_rest, test_size=0.2, stratify=y_rest, random_state=0
    )

monitor = (
    "training_cost",
    "training_accuracy",
    "validation_cost",
    "validation_accuracy",
)

# %%
# Early stopping with n = 5. :func:`~sknn.plotting.plot_history` draws the
# four curves and a dashed line at ``best_epoch_``, whose weights were kept.

stopped = MLPClassifierBook(
    epochs=100,
    early_stopping=True,
    n_iter_no_change=5,
    monitor=monitor,
    random_state=0,
).fit(X_train, y_train, X_val=X_val, y_val=y_val)
print(
    f"early stopping: stopped after epoch {stopped.n_iter_} ({stopped.stop_reason_}), "
    f"kept epoch {stopped.best_epoch_}, test accuracy {stopped.score(X_test, y_test):.2%}"
)
axes = plot_history(stopped)
axes[0].figure.set_size_inches(10, 4)
axes[0].figure.suptitle("Early stopping, no-improvement-in-5")

# %%
# The halving schedule with the same n. Each dotted line marks a halving of
# eta; training stops when eta would drop below eta0 / 128.

scheduled = MLPClassifierBook(
    epochs=300,
    learning_rate_schedule="halving",
    n_iter_no_change=5,
    monitor=monitor,
    random_state=0,
).fit(X_train, y_train, X_val=X_val, y_val=y_val)
print(
    f"halving schedule: {scheduled.n_iter_} epochs ({scheduled.stop_reason_}), "
    f"kept epoch {scheduled.best_epoch_}, test accuracy {scheduled.score(X_test, y_test):.2%}"
)
axes = plot_history(scheduled)
axes[0].figure.set_size_inches(10, 4)
axes[0].figure.suptitle(
    "Halve eta after 5 epochs without improvement, down to eta0 / 128"
)

# %%
# ``history_`` records the learning rate of every epoch.

fig, ax = plt.subplots(figsize=(6, 3))
ax.step(
    [r["epoch"] for r in scheduled.history_],
    [r["learning_rate"] for r in scheduled.history_],
    where="post",
)
ax.set_yscale("log", base=2)
ax.set_xlabel("epoch")
ax.set_ylabel("eta")
ax.set_title("The learning rate under the halving schedule")
fig.tight_layout()

# %%
# Early stopping spends the fewest epochs; the schedule trains longer, with
# smaller and smaller steps that let the weights settle in a minimum that a
# constant eta keeps jumping around. On MNIST that found a better epoch (49)
# than early stopping (13), for a slightly better test accuracy; on the 270
# validation digits, whose accuracy moves in steps of 0.4%, no later epoch
# beat the one early stopping kept.

"""
Watching training the book's way
================================

Chapter 3 of *Neural Networks and Deep Learning* learns to spot overfitting
from four curves per epoch: the cost and the accuracy, on the training data
and on data held out from training. While the network is still learning
digits in general, all four improve together. Once it starts memorising its
training set instead, the training cost keeps falling but the validation
accuracy stops rising, and the validation cost turns back up.

Here an :class:`~sknn.MLPClassifierBook` holds out 20% of scikit-learn's
8x8 digits, records all four quantities in ``history_``, and stops with the
book's "no-improvement-in-n" rule once the validation accuracy has not
improved for 5 epochs, keeping the weights of its best epoch.
:func:`sknn.plotting.plot_history` draws the curves and marks that epoch.

Run it from any folder; it writes ``history.png`` there.
"""

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits

from sknn import MLPClassifierBook
from sknn.plotting import plot_history

X, y = load_digits(return_X_y=True)
clf = MLPClassifierBook(
    monitor=(
        "training_cost",
        "training_accuracy",
        "validation_cost",
        "validation_accuracy",
    ),
    validation_fraction=0.2,
    early_stopping=True,
    n_iter_no_change=5,
    epochs=60,
    random_state=0,
).fit(X / 16, y)

print(f"Stopped after epoch {clf.n_iter_} ({clf.stop_reason_}),")
print(f"keeping the weights of epoch {clf.best_epoch_}.")
print("Last record of history_:", clf.history_[-1])

# %%
# The training curves keep improving after the best epoch; the validation
# accuracy does not, which is why early stopping went back to it.

axes = plot_history(clf)
axes[0].figure.suptitle("MLPClassifierBook on the digits, 20% held out")
plt.savefig("history.png", dpi=100)
print("Saved history.png")

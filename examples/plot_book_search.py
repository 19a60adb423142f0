"""
Choosing hyper-parameters the book's way: BookSearchCV
======================================================

Chapter 3's "How to choose a neural network's hyper-parameters?" tunes one
hyper-parameter at a time, in an order where each choice barely depends on
the later ones: the threshold learning rate from the training cost of the
first epochs (then half of it), the number of epochs from early stopping,
lambda by factors of ten and refined, eta again, and finally the mini-batch
size, chosen for speed. :class:`~sknn.BookSearchCV` runs those stages as
scikit-learn searches and explains each choice in :meth:`~sknn.BookSearchCV.report`.

Here it tunes a ``Pipeline`` that scales the 8x8 digits to [0, 1].
``examples/tune_digits.py`` runs the same search from the command line, and
on 10,000 MNIST images when ``SKNN_MNIST`` is set (see :doc:`/tuning`).
"""

from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from sknn import BookSearchCV, MLPClassifierBook

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=0
)

search = BookSearchCV(
    make_pipeline(MinMaxScaler(), MLPClassifierBook(random_state=0)),
    cv=3,
    # 180 validation images per fold are a noisy signal: the book's more
    # lenient no-improvement-in-twenty.
    n_iter_no_change=20,
    n_jobs=2,
    random_state=0,
).fit(X_train, y_train)

# %%
# What each stage tried, what it chose, and why.

print(search.report())
print(f"\nTest accuracy of the tuned pipeline: {search.score(X_test, y_test):.2%}")

# %%
# One panel per stage: the training cost per eta for the threshold (the
# book's figure in "Learning rate"), validation accuracy per fold for the
# epochs, and the cross-validated score against each candidate value.

fig = search.plot_report()

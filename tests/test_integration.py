"""MLPClassifierBook inside scikit-learn's model-selection tools, with n_jobs=2."""

from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler

from sknn import MLPClassifierBook


def book_pipeline(**params):
    return Pipeline(
        [
            ("scale", MinMaxScaler()),
            ("net", MLPClassifierBook(random_state=0, **params)),
        ]
    )


def test_grid_search_over_the_books_hyperparameters_in_parallel():
    X, y = load_digits(return_X_y=True)
    X, y = X[:900], y[:900]
    grid = {
        "net__cost": ["cross_entropy", "log_likelihood"],
        "net__regularizer": ["l2", "l1"],
        "net__dropout": [0.0, 0.2],
        "net__initializer": ["default", "large"],
        "net__momentum": [0.0, 0.5],
    }
    search = GridSearchCV(
        book_pipeline(epochs=10, learning_rate=0.3), grid, cv=2, n_jobs=2
    )
    search.fit(X, y)
    assert len(search.cv_results_["params"]) == 32
    assert search.best_score_ > 0.85
    assert set(search.best_params_) == set(grid)
    assert search.best_estimator_.score(X, y) > 0.9


def test_cross_val_score_in_parallel():
    X, y = load_digits(return_X_y=True)
    scores = cross_val_score(book_pipeline(epochs=10), X, y, cv=3, n_jobs=2)
    assert scores.shape == (3,)
    assert scores.min() > 0.85

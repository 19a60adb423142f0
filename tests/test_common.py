"""scikit-learn's estimator checks, over configurations covering every option.

The scikit-learn-contrib project template keeps them in this module too.
"""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sknn import MLPClassifierBook, MLPRegressorBook

INSTANCES = [
    MLPClassifierBook(random_state=0),
    MLPClassifierBook(cost="quadratic", regularizer="l1", lmbda=0.5, random_state=0),
    MLPClassifierBook(
        cost="log_likelihood", regularizer="none", activation="tanh", random_state=0
    ),
    MLPClassifierBook(
        hidden_layer_sizes=(20, 10),
        activation="relu",
        initializer="he",
        dropout=0.2,
        momentum=0.9,
        learning_rate=0.05,
        cost="log_likelihood",
        random_state=0,
    ),
    MLPClassifierBook(
        initializer="large", momentum=0.5, learning_rate=0.1, random_state=0
    ),
    MLPRegressorBook(random_state=0),
    MLPRegressorBook(
        hidden_layer_sizes=(20, 10),
        activation="relu",
        initializer="he",
        momentum=0.5,
        regularizer="l1",
        random_state=0,
    ),
    MLPRegressorBook(
        activation="tanh", scale_targets=False, dropout=0.1, random_state=0
    ),
]

SAMPLE_WEIGHT_EQUIVALENCE = (
    "Mini-batch SGD cannot pass it: repeating a sample adds rows, which changes "
    "how the shuffled data is cut into mini-batches and how many steps an epoch "
    "takes, so weighted and repeated data follow different optimisation paths. "
    "scikit-learn's MLPClassifier passes it only with solver='lbfgs'. The "
    "weighting itself is tested in tests/test_training.py and "
    "tests/test_gradients.py."
)

EXPECTED_FAILED_CHECKS = {
    "check_sample_weight_equivalence_on_dense_data": SAMPLE_WEIGHT_EQUIVALENCE,
    "check_sample_weight_equivalence_on_sparse_data": SAMPLE_WEIGHT_EQUIVALENCE,
}


@parametrize_with_checks(
    INSTANCES, expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS
)
def test_estimators(estimator, check):
    check(estimator)

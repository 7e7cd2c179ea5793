import keras
import numpy as np
import pytest
from sklearn.metrics import accuracy_score

from keras_ext.metrics import CategoricalTruePositives

NUM_CLASSES = 5


def _batches(n_batches=4, batch=16, seed=0):
    rng = np.random.default_rng(seed)
    for _ in range(n_batches):
        labels = rng.integers(0, NUM_CLASSES, size=batch)
        scores = rng.normal(size=(batch, NUM_CLASSES)).astype("float32")
        # make roughly half the predictions right so the count is informative
        right = rng.random(batch) < 0.5
        scores[right, labels[right]] += 10.0
        weights = rng.random(batch).astype("float32")
        yield labels, scores, weights


def _reference_count(labels, scores, weights=None):
    """scikit-learn's unnormalised accuracy: the (weighted) number of correct argmaxes."""
    return accuracy_score(labels, scores.argmax(axis=1), normalize=False, sample_weight=weights)


@pytest.mark.parametrize("label_format", ["int", "int_column", "one_hot"])
@pytest.mark.parametrize("weighted", [False, True])
def test_matches_scikit_learn_batch_after_batch(label_format, weighted):
    metric = CategoricalTruePositives()
    expected = 0.0
    for labels, scores, weights in _batches():
        y_true = {
            "int": labels,
            "int_column": labels[:, None],
            "one_hot": np.eye(NUM_CLASSES, dtype="float32")[labels],
        }[label_format]
        metric.update_state(y_true, scores, sample_weight=weights if weighted else None)
        expected += _reference_count(labels, scores, weights if weighted else None)
        np.testing.assert_allclose(float(metric.result()), expected, rtol=1e-5)
    assert expected > 0
    metric.reset_state()
    assert float(metric.result()) == 0.0


def test_argmax_is_over_the_class_axis_not_the_batch_axis():
    # The seed took argmax over axis 0; with 3 samples and 3 classes the two differ.
    y_pred = np.array([[0.1, 0.8, 0.1], [0.7, 0.2, 0.1], [0.6, 0.3, 0.1]], "float32")
    y_true = np.array([1, 0, 2])
    metric = CategoricalTruePositives()
    metric.update_state(y_true, y_pred)
    assert float(metric.result()) == 2.0


def test_logs_keep_their_value_after_later_updates():
    metric = CategoricalTruePositives()
    metric.update_state(np.array([0]), np.array([[1.0, 0.0]]))
    first = metric.result()
    metric.update_state(np.array([0]), np.array([[1.0, 0.0]]))
    assert float(first) == 1.0 and float(metric.result()) == 2.0


def test_in_compile_fit_and_evaluate_counts_correct_predictions():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(40, 6)).astype("float32")
    y = rng.integers(0, 3, size=40)
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(3)])
    model.compile(
        "sgd",
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[CategoricalTruePositives()],
    )
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    result = model.evaluate(x, y, batch_size=8, verbose=0, return_dict=True)
    expected = _reference_count(y, model.predict(x, verbose=0))
    assert result["categorical_true_positives"] == pytest.approx(expected)


def test_state_variable_sums_across_replicas():
    metric = CategoricalTruePositives()
    (variable,) = metric.variables
    assert variable.aggregation == "sum"


@pytest.mark.parametrize(
    "y_true, y_pred, weights",
    [
        (np.zeros(4), np.zeros((5, 3)), None),
        (np.zeros(5), np.zeros((5, 3)), np.ones(4)),
        (np.eye(4)[: 5 % 4], np.zeros((1, 3)), None),
    ],
)
def test_mismatched_inputs_raise_value_error(y_true, y_pred, weights):
    with pytest.raises(ValueError, match="CategoricalTruePositives"):
        CategoricalTruePositives().update_state(y_true, y_pred, sample_weight=weights)

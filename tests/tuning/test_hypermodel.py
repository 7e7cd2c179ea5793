import math

import keras
import keras_tuner
import numpy as np
import pytest

from keras_ext.models import SimpleCNN
from keras_ext.tuning import SimpleCNNHyperModel
from tests.tuning.tiny_data import tiny_digits

pytestmark = pytest.mark.tensorflow_only

SHAPE = (8, 8, 1)


def _hp(**fixed):
    hp = keras_tuner.HyperParameters()
    for name, value in fixed.items():
        hp.Fixed(name, value)
    return hp


def test_default_hyperparameters_build_the_model_keras_ext_train_trains():
    model = SimpleCNNHyperModel((28, 28, 1), 10).build(keras_tuner.HyperParameters())
    reference = SimpleCNN(num_classes=10)  # the walkthrough's defaults
    ignore = {"name", "trainable", "dtype"}
    assert {k: v for k, v in model.get_config().items() if k not in ignore} == {
        k: v for k, v in reference.get_config().items() if k not in ignore
    }
    assert model.built
    assert isinstance(model.optimizer, keras.optimizers.RMSprop)
    assert float(model.optimizer.learning_rate) == pytest.approx(1.2e-3)


def test_default_space_names_ranges_and_conditions():
    hp = keras_tuner.HyperParameters()
    SimpleCNNHyperModel(SHAPE, 10).build(hp)
    space = {p.name: p for p in hp.space}
    assert set(space) == {
        "num_blocks",
        "filters_0",
        "filters_1",
        "filters_2",
        "kernel_size",
        "dropout_rate",
        "weight_decay",
        "learning_rate",
        "optimizer",
        "batch_size",
    }
    assert (space["num_blocks"].min_value, space["num_blocks"].max_value) == (1, 3)
    assert (space["learning_rate"].min_value, space["learning_rate"].max_value) == (1e-4, 1e-2)
    assert space["learning_rate"].sampling == "log" and space["weight_decay"].sampling == "log"
    assert list(space["batch_size"].values) == [32, 64, 128]
    # filters_i is tuned only when the model has more than i blocks.
    for blocks in (1, 2, 3):
        hp.values["num_blocks"] = blocks
        assert [hp.is_active(space[f"filters_{i}"]) for i in range(3)] == [i < blocks for i in range(3)]


def test_users_fix_or_narrow_any_hyperparameter():
    hypermodel = SimpleCNNHyperModel(
        SHAPE,
        4,
        num_blocks=2,
        filters=(8,),
        kernel_size=3,
        dropout_rate=(0.1, 0.2),
        weight_decay=0.0,
        optimizer="adam",
        learning_rate=(1e-3, 2e-3),
        batch_size=16,
    )
    hp = keras_tuner.HyperParameters()
    model = hypermodel.build(hp)
    space = {p.name: p for p in hp.space}
    fixed = {n for n, p in space.items() if isinstance(p, keras_tuner.engine.hyperparameters.Fixed)}
    assert fixed == {
        "num_blocks",
        "filters_0",
        "filters_1",
        "kernel_size",
        "weight_decay",
        "optimizer",
        "batch_size",
    }
    assert model.filters == (8, 8) and model.num_classes == 4 and model.weight_decay == 0.0
    assert (space["dropout_rate"].min_value, space["dropout_rate"].max_value) == (0.1, 0.2)
    # Random draws from the narrowed space stay inside it.
    for seed in range(20):
        lr = space["learning_rate"].random_sample(seed)
        assert 1e-3 <= lr <= 2e-3


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"num_blocks": (3, 1)}, "`num_blocks` range has min > max"),
        ({"learning_rate": (1e-2, 1e-4)}, "`learning_rate` range has min > max"),
        ({"dropout_rate": (0.5, 0.1)}, "`dropout_rate` range has min > max"),
        ({"weight_decay": (1e-3, 1e-5)}, "`weight_decay` range has min > max"),
        ({"num_blocks": (0, 2)}, "`num_blocks` must be a positive integer"),
        ({"dropout_rate": (0.0, 1.0)}, "`dropout_rate` must be a number in [0, 1)"),
        ({"learning_rate": (0.0, 1e-2)}, "`learning_rate` must be positive"),
        (
            {"learning_rate": (1e-3, 1e-2, 1e-1)},
            "`learning_rate` must be a number (fixed) or a (min, max) pair",
        ),
        ({"filters": ()}, "`filters` needs at least one value"),
        ({"filters": (8, 8)}, "`filters` lists a value twice"),
        ({"kernel_size": (3, -1)}, "`kernel_size` must be a positive integer"),
        ({"optimizer": ("adam", "lion")}, "`optimizer` must be one of"),
        ({"batch_size": 0}, "`batch_size` must be a positive integer"),
        ({"decay_rate": 0}, "`decay_rate` must be positive"),
        ({"input_shape": (8, 8)}, "`input_shape` must be the shape of one image"),
        ({"num_classes": 0}, "`num_classes` must be a positive integer"),
    ],
)
def test_bad_space_fails_at_once_naming_the_argument(kwargs, message):
    kwargs = {"input_shape": SHAPE, "num_classes": 10, **kwargs}
    with pytest.raises(ValueError) as exc:
        SimpleCNNHyperModel(**kwargs)
    assert message in str(exc.value)


def test_build_compiles_the_optimizer_and_decaying_learning_rate_in_hp():
    hp = _hp(optimizer="adam", learning_rate=0.004)
    model = SimpleCNNHyperModel(SHAPE, 10, decay_steps=10, decay_rate=0.5).build(hp)
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    schedule = keras.optimizers.schedules.deserialize(model.optimizer.get_config()["learning_rate"])
    # Reference: the walkthrough's staircase decay, lr * rate ** floor(step / steps).
    for step in (0, 9, 10, 25):
        expected = 0.004 * 0.5 ** math.floor(step / 10)
        assert float(schedule(step)) == pytest.approx(expected, rel=1e-6)


def test_fit_tunes_the_batch_size_and_passes_on_the_tuners_and_users_callbacks():
    x, y, x_val, y_val = tiny_digits(100, 20)
    hp = _hp(num_blocks=1, filters_0=4, batch_size=16)
    hypermodel = SimpleCNNHyperModel(SHAPE, 10)
    model = hypermodel.build(hp)
    seen = {"user": [], "tuner": []}
    user = keras.callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: seen["user"].append(b))
    tuner = keras.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: seen["tuner"].append(e))
    history = hypermodel.fit(
        hp, model, x, y, validation_data=(x_val, y_val), epochs=2, callbacks=[user, tuner], verbose=0
    )
    assert seen["tuner"] == [0, 1]
    assert len(seen["user"]) == 2 * math.ceil(100 / 16)  # batches of 16, reference by hand
    assert set(history.history) >= {"val_accuracy", "val_categorical_true_positives"}


def test_fit_with_a_tuned_batch_size_rejects_batched_data_and_accepts_it_without():
    import tensorflow as tf

    x, y, _, _ = tiny_digits(32, 8)
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(8)
    tuned = SimpleCNNHyperModel(SHAPE, 10, num_blocks=1, filters=4)
    with pytest.raises(ValueError, match="tunes the batch size"):
        tuned.fit(keras_tuner.HyperParameters(), tuned.build(keras_tuner.HyperParameters()), dataset)
    untuned = SimpleCNNHyperModel(SHAPE, 10, num_blocks=1, filters=4, batch_size=None)
    hp = keras_tuner.HyperParameters()
    history = untuned.fit(hp, untuned.build(hp), dataset, epochs=1, verbose=0)
    assert "batch_size" not in hp.values and len(history.history["loss"]) == 1


def test_stock_keras_tuner_searches_a_custom_metric_and_returns_a_built_best_model(tmp_path):
    x, y, x_val, y_val = tiny_digits(120, 60)
    hypermodel = SimpleCNNHyperModel(SHAPE, 10, num_blocks=1, filters=(4, 8), batch_size=32)
    # The bare name is what keras-tuner cannot take: it infers directions of Keras's own metrics only.
    with pytest.raises(ValueError, match="Could not infer optimization direction"):
        keras_tuner.RandomSearch(
            hypermodel,
            objective="val_categorical_true_positives",
            max_trials=2,
            directory=str(tmp_path),
            project_name="bare",
        )
    tuner = keras_tuner.RandomSearch(
        hypermodel,
        objective=hypermodel.objective("val_categorical_true_positives"),
        max_trials=2,
        seed=1,
        directory=str(tmp_path),
        project_name="p",
    )
    assert tuner.oracle.objective.direction == "max"
    tuner.search(x, y, validation_data=(x_val, y_val), epochs=2, verbose=0)
    best = tuner.get_best_models(1)[0]
    assert best.built
    score = tuner.oracle.get_best_trials(1)[0].score
    logs = best.evaluate(x_val, y_val, batch_size=32, verbose=0, return_dict=True)
    assert logs["categorical_true_positives"] == pytest.approx(score, abs=1e-6)
    # Reference: the count by hand from the model's own predictions.
    predicted = np.argmax(best.predict(x_val, verbose=0), axis=-1)
    assert score == float(np.sum(predicted == y_val))


@pytest.mark.parametrize(
    "name, direction",
    [
        ("val_categorical_true_positives", "max"),
        ("categorical_true_positives", "max"),
        ("val_accuracy", "max"),
        ("val_loss", "min"),
        ("loss", "min"),
    ],
)
def test_objective_carries_the_direction_of_each_compiled_metric(name, direction):
    objective = SimpleCNNHyperModel(SHAPE, 10).objective(name)
    assert (objective.name, objective.direction) == (name, direction)


def test_objective_of_a_metric_the_model_does_not_log_names_the_known_ones():
    with pytest.raises(
        ValueError, match=r"Objective 'val_f1' is not a metric the model logs; expected one of \['loss'"
    ):
        SimpleCNNHyperModel(SHAPE, 10).objective("val_f1")

"""Every public model survives every way Keras and TensorFlow save it, whole.

Each path saves a trained model (BatchNormalization statistics and optimizer
state moved away from their initial values) and restores it into an
instance created with another seed; the restored predictions must equal the
saved model's. The reference is the saved model itself, and each test first
checks that the fresh instance predicts differently, so a path that restores
nothing (or only part) fails.
"""

import os
import zipfile

import keras
import numpy as np
import pytest

import keras_ext

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")

# class name -> constructor kwargs; every class in keras_ext.models.__all__ needs one.
MODELS = {
    "SimpleCNN": {"num_classes": 4, "filters": (4, 8), "dropout_rate": 0.1},
    "FashionCNN": {"num_classes": 4},
}
INPUT_SHAPE = (28, 28, 1)


def _public_models():
    return sorted(
        name
        for name in keras_ext.models.__all__
        if isinstance(getattr(keras_ext.models, name), type)
        and issubclass(getattr(keras_ext.models, name), keras.Model)
    )


def test_every_public_model_is_covered():
    assert set(_public_models()) == set(MODELS), "add the new model to MODELS"


def _data(n=16):
    rng = np.random.default_rng(0)
    return rng.random((n, *INPUT_SHAPE)).astype("float32"), np.arange(n) % 4


def _walkthrough_optimizer():
    # The walkthrough's optimizer: RMSprop on a staircase ExponentialDecay.
    schedule = keras.optimizers.schedules.ExponentialDecay(1e-4, 100000, 0.96, staircase=True)
    return keras.optimizers.RMSprop(learning_rate=schedule)


def _model(name, seed):
    keras.utils.set_random_seed(seed)
    model = getattr(keras_ext.models, name)(**MODELS[name])
    model.build((None, *INPUT_SHAPE))
    return model


def _compiled(name, seed):
    model = _model(name, seed)
    model.compile(_walkthrough_optimizer(), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def _trained(name):
    model = _compiled(name, seed=0)
    x, y = _data()
    model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    return model


def _predict(model, x):
    return keras.ops.convert_to_numpy(model(x, training=False))


def _assert_restored(saved, restored):
    x, _ = _data()
    np.testing.assert_allclose(_predict(restored, x), _predict(saved, x), rtol=0, atol=1e-6)


def _assert_fresh_differs(saved, fresh):
    x, _ = _data()
    assert np.abs(_predict(fresh, x) - _predict(saved, x)).max() > 1e-3, "the fresh instance must differ"


@pytest.mark.parametrize("name", sorted(MODELS))
def test_keras_file(tmp_path, name):
    saved = _trained(name)
    saved.save(tmp_path / "model.keras")
    restored = keras.saving.load_model(tmp_path / "model.keras")
    assert type(restored) is type(saved)
    _assert_restored(saved, restored)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_save_weights_and_load_weights(tmp_path, name):
    saved = _trained(name)
    saved.save_weights(tmp_path / "model.weights.h5")
    fresh = _model(name, seed=1)
    _assert_fresh_differs(saved, fresh)
    fresh.load_weights(tmp_path / "model.weights.h5")
    _assert_restored(saved, fresh)

    # Same variables in the same order (paths less the model's own name), which
    # positional weight lists (get_weights/set_weights) rely on.
    def inner_paths(model):
        return [v.path.split("/", 1)[1] for v in model.weights]

    assert inner_paths(fresh) == inner_paths(saved)


@pytest.mark.tensorflow_only
@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("build_before_restore", [True, False])
def test_walkthrough_tf_train_checkpoint_manager(tmp_path, name, build_before_restore):
    import tensorflow as tf

    x, y = _data()
    checkpoint_dir = str(tmp_path / "tf_ckpts")

    # The walkthrough's training loop and checkpoint code, as it was written.
    keras.utils.set_random_seed(0)
    model = getattr(keras_ext.models, name)(**MODELS[name])
    optimizer = _walkthrough_optimizer()
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    ckpt = tf.train.Checkpoint(model=model, optimizer=optimizer)
    manager = tf.train.CheckpointManager(ckpt, checkpoint_dir, max_to_keep=3)
    ckpt.restore(manager.latest_checkpoint)

    @tf.function
    def train_step(images, labels):
        with tf.GradientTape() as tape:
            logits = model(images, training=True)
            loss = loss_fn(labels, logits)
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))  # noqa: B905 (the walkthrough as written)
        return loss

    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(4)
    for epoch in range(2):  # noqa: B007 (the walkthrough as written)
        for images, labels in dataset:
            train_step(images, labels)
        manager.save()
    manager.save()  # a third save; max_to_keep=3 keeps all of them

    # Every variable of the model is in its object graph (a model-only checkpoint:
    # with the optimizer beside it, trainable variables are named by its path).
    path = tf.train.Checkpoint(model=model).write(str(tmp_path / "model_only" / "ckpt"))
    saved_names = [n for n, _ in tf.train.list_variables(path) if n.startswith("model/")]
    # Keras's Dropout SeedGenerator is no TensorFlow trackable in any Keras model
    # (a plain Sequential with Dropout leaves it out too); predictions do not use it.
    weights = [v for v in model.variables if "seed_generator" not in v.path]
    assert len(saved_names) == len(weights), saved_names

    # A new process would do this: the same code, with another initialisation.
    keras.utils.set_random_seed(1)
    model2 = getattr(keras_ext.models, name)(**MODELS[name])
    optimizer2 = _walkthrough_optimizer()
    if build_before_restore:
        model2.build((None, *INPUT_SHAPE))
        optimizer2.build(model2.trainable_variables)
        _assert_fresh_differs(model, model2)
    ckpt2 = tf.train.Checkpoint(model=model2, optimizer=optimizer2)
    manager2 = tf.train.CheckpointManager(ckpt2, checkpoint_dir, max_to_keep=3)
    assert len(manager2.checkpoints) == 3
    status = ckpt2.restore(manager2.latest_checkpoint)
    _assert_restored(model, model2)  # an unbuilt model is built by this call, then restored
    if build_before_restore:
        status.assert_consumed()
        assert int(optimizer2.iterations) == int(optimizer.iterations) == 8
        for a, b in zip(optimizer2.variables, optimizer.variables, strict=True):
            np.testing.assert_array_equal(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b))


@pytest.mark.parametrize("name", sorted(MODELS))
def test_keras_ext_checkpoint_manager(tmp_path, name):
    x, y = _data()
    saved = _compiled(name, seed=0)
    manager = keras_ext.callbacks.CheckpointManager(tmp_path / "ckpt", save_freq=2, max_to_keep=3)
    saved.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0, callbacks=[manager])
    fresh = _compiled(name, seed=1)
    _assert_fresh_differs(saved, fresh)
    keras_ext.callbacks.CheckpointManager.restore(fresh, tmp_path / "ckpt")
    _assert_restored(saved, fresh)


# Files saved by keras_ext at e5a6b64, before the models exposed their list-held
# layers to tf.train.Checkpoint, with that code's predictions on the same images
# (made with PYTHONPATH pointing at that commit: SimpleCNN(num_classes=3,
# filters=(4, 8), dropout_rate=0.1) and FashionCNN(num_classes=3), built for
# 12x12x1, saved with model.save; the weights file is the one inside the zip).
@pytest.mark.parametrize("name, stem", [("SimpleCNN", "simple_cnn"), ("FashionCNN", "fashion_cnn")])
def test_files_saved_before_still_load(tmp_path, name, stem):
    reference = np.load(os.path.join(FIXTURES, "predictions_e5a6b64.npz"))
    path = os.path.join(FIXTURES, f"{stem}_e5a6b64.keras")
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(_predict(loaded, reference["x"]), reference[stem], rtol=0, atol=1e-6)
    if name == "SimpleCNN":  # saved before batchnorm_momentum existed: it trains on with Keras's 0.99
        assert [block.bn.momentum for block in loaded.blocks] == [0.99, 0.99]

    with zipfile.ZipFile(path) as archive:
        archive.extract("model.weights.h5", tmp_path)
    keras.utils.set_random_seed(1)
    model = getattr(keras_ext.models, name)(
        num_classes=3, **({"filters": (4, 8), "dropout_rate": 0.1} if name == "SimpleCNN" else {})
    )
    model.build((None, 12, 12, 1))
    model.load_weights(tmp_path / "model.weights.h5")
    np.testing.assert_allclose(_predict(model, reference["x"]), reference[stem], rtol=0, atol=1e-6)

    # Files saved now keep the old layout, so the older keras_ext loads them too.
    model.save(tmp_path / "now.keras")
    assert _weight_paths(tmp_path / "now.keras", tmp_path / "now") == _weight_paths(path, tmp_path / "old")


def _weight_paths(keras_file, scratch):
    import h5py

    with zipfile.ZipFile(keras_file) as archive:
        archive.extract("model.weights.h5", scratch)
    paths = []
    with h5py.File(os.path.join(scratch, "model.weights.h5"), "r") as f:
        f.visititems(lambda name, obj: paths.append(name) if isinstance(obj, h5py.Dataset) else None)
    return sorted(paths)

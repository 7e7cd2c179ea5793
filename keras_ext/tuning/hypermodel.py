"""`SimpleCNNHyperModel`: the keras-tuner search space over `keras_ext.models.SimpleCNN`."""

import keras
import keras_tuner

from keras_ext._validation import check_non_negative
from keras_ext._validation import check_positive_int
from keras_ext._validation import check_rate
from keras_ext.tuning import _space
from keras_ext_cli import defaults

# Directions of the metrics every SimpleCNNHyperModel compiles, for objectives
# keras-tuner cannot infer (it does not know keras_ext's metrics).
METRIC_DIRECTIONS = {"loss": "min", "accuracy": "max", "categorical_true_positives": "max"}

# `keras-ext train`'s model and settings (`keras_ext_cli.defaults`, where its `--help` reads them
# without Keras): each hyperparameter defaults to them (clipped into its range), so the first grid
# trial and a bare `HyperParameters()` build the model `keras-ext train` trains.
TRAIN_DEFAULTS = defaults.TRAIN_DEFAULTS


class SimpleCNNHyperModel(keras_tuner.HyperModel):
    """Search space over SimpleCNN's architecture, its optimizer and the batch size.

    `build(hp)` returns a SimpleCNN that is already built (so keras-tuner can
    load its best checkpoints into it) and compiled as `keras-ext train`
    compiles: a staircase `ExponentialDecay` learning rate, sparse
    categorical cross-entropy from logits, and the metrics `accuracy` and
    `categorical_true_positives`. An objective may name any of them, with
    or without `val_`. keras-tuner infers the direction of Keras's own
    metrics only: with its tuners, pass `hypermodel.objective(name)` (a
    `keras_tuner.Objective` with the direction) rather than the bare name
    `"val_categorical_true_positives"`, which it refuses; keras_ext's
    `Search` takes names. `fit(hp, model, ...)` tunes the batch size and
    passes on every callback it is given (the tuner's merged with the
    user's).

    Each space argument fixes or narrows one hyperparameter. A *range*
    argument is a number (fixed) or a `(min, max)` pair; a *choice* argument
    is a value (fixed) or a sequence of values.

    Args:
        input_shape: shape of one image, `(height, width, channels)`.
        num_classes: number of classes (positive int).
        num_blocks: range of ConvBlocks, ints >= 1 (default `(1, 3)`).
        filters: choice of filters for each block; block `i` gets its own
            hyperparameter `filters_i` (default `(16, 32, 64)`).
        kernel_size: choice of (square) kernel sizes (default `(3, 5)`).
        dropout_rate: range in [0, 1) (default `(0.0, 0.3)`).
        weight_decay: range >= 0, sampled on a log scale when min > 0
            (default `(1e-5, 1e-3)`).
        optimizer: choice among "rmsprop", "adam", "sgd", "adamw", "nadam"
            (default `("rmsprop", "adam")`).
        learning_rate: range > 0 of the initial learning rate, log scale
            (default `(1e-4, 1e-2)`).
        batch_size: choice of batch sizes (default `(32, 64, 128)`); `None`
            leaves batching to the data (for already batched datasets).
        decay_steps: steps between learning-rate decays (fixed, default 100).
        decay_rate: factor of each decay (fixed, default 0.8).
        name: optional name of the hypermodel.
        tunable: whether the hypermodel's hyperparameters are added to the
            tuner's space (keras-tuner's meaning).

    Example:

    >>> import keras_tuner, keras_ext
    >>> hypermodel = keras_ext.tuning.SimpleCNNHyperModel(
    ...     (28, 28, 1), 10, num_blocks=(1, 2), optimizer="adam")
    >>> model = hypermodel.build(keras_tuner.HyperParameters())
    >>> model.built, model.filters
    (True, (16, 32))
    >>> tuner = keras_tuner.RandomSearch(
    ...     hypermodel, objective=hypermodel.objective("val_categorical_true_positives"),
    ...     max_trials=1, directory="/tmp/keras_ext_doctest", overwrite=True)
    >>> tuner.oracle.objective.direction
    'max'
    """

    # Which way each compiled metric improves, for objectives over them.
    metric_directions = METRIC_DIRECTIONS

    def __init__(
        self,
        input_shape,
        num_classes,
        num_blocks=(1, 3),
        filters=(16, 32, 64),
        kernel_size=(3, 5),
        dropout_rate=(0.0, 0.3),
        weight_decay=(1e-5, 1e-3),
        optimizer=("rmsprop", "adam"),
        learning_rate=(1e-4, 1e-2),
        batch_size=(32, 64, 128),
        decay_steps=defaults.DECAY_STEPS,
        decay_rate=defaults.DECAY_RATE,
        name=None,
        tunable=True,
    ):
        super().__init__(name=name, tunable=tunable)
        self.input_shape = _check_input_shape(input_shape)
        self.num_classes = check_positive_int("num_classes", num_classes)
        self.num_blocks = _space.range_spec("num_blocks", num_blocks, check_positive_int)
        self.filters = _space.choice_spec("filters", filters, check_positive_int)
        self.kernel_size = _space.choice_spec("kernel_size", kernel_size, check_positive_int)
        self.dropout_rate = _space.range_spec("dropout_rate", dropout_rate, check_rate)
        self.weight_decay = _space.range_spec("weight_decay", weight_decay, check_non_negative)
        self.optimizer = _space.choice_spec("optimizer", optimizer, _space.check_optimizer)
        self.learning_rate = _space.range_spec("learning_rate", learning_rate, _space.check_positive)
        self.batch_size = (
            None if batch_size is None else _space.choice_spec("batch_size", batch_size, check_positive_int)
        )
        self.decay_steps = check_positive_int("decay_steps", decay_steps)
        self.decay_rate = _space.check_positive("decay_rate", decay_rate)

    def objective(self, name="val_accuracy"):
        """`name` as a `keras_tuner.Objective` with its direction, for keras-tuner's own tuners.

        `name` is a metric the built models log (`loss`, `accuracy`,
        `categorical_true_positives`), optionally with `val_`.
        """
        base = name[len("val_") :] if isinstance(name, str) and name.startswith("val_") else name
        if base not in self.metric_directions:
            known = [f"{prefix}{metric}" for prefix in ("", "val_") for metric in self.metric_directions]
            raise ValueError(f"Objective {name!r} is not a metric the model logs; expected one of {known}.")
        return keras_tuner.Objective(name, self.metric_directions[base])

    def build(self, hp):
        """Return a built and compiled SimpleCNN for the values in `hp`."""
        from keras_ext.models import SimpleCNN

        model = SimpleCNN(
            num_classes=self.num_classes,
            filters=self._filters(hp),
            kernel_size=self._choice(hp, "kernel_size"),
            dropout_rate=self._range(hp, "dropout_rate"),
            weight_decay=self._range(hp, "weight_decay", log=True),
        )
        # Built now so that keras-tuner can load weights into the best models
        # (a subclassed model that is not built cannot take them).
        model.build((None, *self.input_shape))
        self._compile(model, hp)
        self._batch_size(hp)  # declared here so that it is in the space from the start
        return model

    def fit(self, hp, model, *args, **kwargs):
        """Fit `model` with the batch size in `hp`; `kwargs["callbacks"]` is passed on whole."""
        batch_size = self._batch_size(hp)
        if batch_size is not None:
            _check_in_memory(args[0] if args else kwargs.get("x"))
            kwargs["batch_size"] = batch_size
        return model.fit(*args, **kwargs)

    def _filters(self, hp):
        num_blocks = self._range(hp, "num_blocks", integer=True)
        low, high = self.num_blocks
        filters = []
        for i in range(high):
            # filters_i only matters (and is only tuned) when there are more than i blocks.
            active_for = [n for n in range(max(low, i + 1), high + 1)]
            with hp.conditional_scope("num_blocks", active_for):
                default = TRAIN_DEFAULTS["filters"][min(i, 2)]
                value = _space.declare_choice(hp, f"filters_{i}", self.filters, default)
            if i < num_blocks:
                filters.append(value)
        return tuple(filters)

    def _compile(self, model, hp):
        from keras_ext.metrics import CategoricalTruePositives

        schedule = keras.optimizers.schedules.ExponentialDecay(
            self._range(hp, "learning_rate", log=True),
            decay_steps=self.decay_steps,
            decay_rate=self.decay_rate,
            staircase=True,
        )
        name = self._choice(hp, "optimizer")
        optimizer = keras.optimizers.get({"class_name": name, "config": {"learning_rate": schedule}})
        model.compile(
            optimizer=optimizer,
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=["accuracy", CategoricalTruePositives()],
        )

    def _batch_size(self, hp):
        if self.batch_size is None:
            return None
        return self._choice(hp, "batch_size")

    def _range(self, hp, name, integer=False, log=False):
        spec = getattr(self, name)
        return _space.declare_range(hp, name, spec, TRAIN_DEFAULTS[name], integer=integer, log=log)

    def _choice(self, hp, name):
        return _space.declare_choice(hp, name, getattr(self, name), TRAIN_DEFAULTS[name])


def _check_input_shape(input_shape):
    shape = tuple(input_shape) if isinstance(input_shape, (tuple, list)) else None
    if (
        not shape
        or len(shape) != 3
        or any(isinstance(d, bool) or not isinstance(d, int) or d < 1 for d in shape)
    ):
        raise ValueError(
            "`input_shape` must be the shape of one image, (height, width, channels) "
            f"as 3 positive ints, got input_shape={input_shape!r}."
        )
    return shape


def _check_in_memory(x):
    # A tuned batch size can only be applied to data Keras batches itself.
    if x is None or not hasattr(x, "__len__") or not hasattr(x, "shape"):
        raise ValueError(
            "SimpleCNNHyperModel tunes the batch size, so `fit` needs in-memory arrays "
            f"(NumPy or tensors), got x of type {type(x).__name__}. Pass arrays, or create "
            "the hypermodel with batch_size=None to feed already batched data."
        )

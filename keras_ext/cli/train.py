"""`keras-ext train`: compile/fit a keras_ext model on a dataset, save it as `.keras`."""

import json
import os

MODELS = ("simplecnn", "fashioncnn")


def add_parser(subparsers):
    p = subparsers.add_parser(
        "train",
        help="train SimpleCNN or FashionCNN with compile/fit and save it as .keras",
        description=(
            "Train a keras_ext model with model.compile/model.fit (RMSprop with "
            "ExponentialDecay, sparse categorical cross-entropy from logits, accuracy "
            "and CategoricalTruePositives), save it to OUTPUT/model.keras and print the "
            "validation accuracy. Runs offline on the built-in digits by default."
        ),
    )
    p.add_argument("--model", choices=MODELS, default="simplecnn")
    p.add_argument("--dataset", default="digits",
                   help="'digits' (built in, offline), 'fashion_mnist', an IDX directory or an .npz")
    p.add_argument("--epochs", type=_positive_int, default=20)
    p.add_argument("--batch-size", type=_positive_int, default=32)
    p.add_argument("--learning-rate", type=_positive_float, default=3e-3,
                   help="initial learning rate of the ExponentialDecay schedule")
    p.add_argument("--decay-steps", type=_positive_int, default=100)
    p.add_argument("--decay-rate", type=_positive_float, default=0.8)
    p.add_argument("--dropout-rate", type=float, default=0.0, help="SimpleCNN only")
    p.add_argument("--output", default="runs/train", help="directory for model.keras and metrics.json")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--verbose", type=int, choices=(0, 1, 2), default=2,
                   help="Keras progress: 0 silent, 1 progress bar, 2 one line per epoch")
    p.set_defaults(run=run)
    return p


def _positive_int(text):
    import argparse

    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _positive_float(text):
    import argparse

    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def build_model(name, num_classes, input_shape, dropout_rate=0.0):
    """Create and build the named keras_ext model."""
    from keras_ext import models

    if name == "simplecnn":
        model = models.SimpleCNN(num_classes=num_classes, dropout_rate=dropout_rate)
    elif name == "fashioncnn":
        model = models.FashionCNN(num_classes=num_classes)
    else:
        raise ValueError(f"Unknown model {name!r}; expected one of {list(MODELS)}.")
    model.build((None, *input_shape))
    return model


def compile_like_seed(model, learning_rate, decay_steps, decay_rate):
    """Compile as the walkthrough does: RMSprop + staircase ExponentialDecay, logits loss."""
    import keras

    from keras_ext.metrics import CategoricalTruePositives

    schedule = keras.optimizers.schedules.ExponentialDecay(
        learning_rate, decay_steps=decay_steps, decay_rate=decay_rate, staircase=True
    )
    model.compile(
        optimizer=keras.optimizers.RMSprop(learning_rate=schedule),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy", CategoricalTruePositives()],
    )


def save_model_atomically(model, path):
    """Save `.keras` under a temporary name, then rename, so a crash leaves no half file."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    tmp = os.path.join(directory, f".tmp-{os.getpid()}-{os.path.basename(path)}")
    try:
        model.save(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def run(args):
    import keras

    from keras_ext import data

    keras.utils.set_random_seed(args.seed)
    dataset = data.load(args.dataset, batch_size=args.batch_size, seed=args.seed)
    print(
        f"keras-ext train: {args.model} on {args.dataset} "
        f"({len(dataset.arrays.x_train)} train / {len(dataset.arrays.x_val)} validation images, "
        f"shape {dataset.input_shape}, {dataset.num_classes} classes), "
        f"{args.epochs} epochs, batch {args.batch_size}, backend {keras.backend.backend()}",
        flush=True,
    )
    model = build_model(args.model, dataset.num_classes, dataset.input_shape, args.dropout_rate)
    compile_like_seed(model, args.learning_rate, args.decay_steps, args.decay_rate)
    history = model.fit(
        dataset.train,
        validation_data=dataset.validation,
        epochs=args.epochs,
        shuffle=False,  # the tf.data pipeline already reshuffles every epoch
        verbose=args.verbose,
    )
    results = model.evaluate(dataset.validation, verbose=0, return_dict=True)
    model_path = os.path.join(args.output, "model.keras")
    save_model_atomically(model, model_path)
    summary = {
        "model": args.model,
        "dataset": args.dataset,
        "epochs": args.epochs,
        "validation": {k: float(v) for k, v in results.items()},
        "history": {k: [float(x) for x in v] for k, v in history.history.items()},
        "model_path": model_path,
    }
    with open(os.path.join(args.output, "metrics.json"), "w") as f:
        json.dump(summary, f, indent=2)
    print(f"saved {model_path}")
    print(f"validation accuracy: {results['accuracy']:.4f}")
    return 0

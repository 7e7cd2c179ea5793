"""The parser of `keras-ext train` (the command: `keras_ext.cli.train.run`)."""

import argparse
import os

from keras_ext_cli import directory_lock
from keras_ext_cli._choices import MODEL_NAMES as MODELS
from keras_ext_cli._choices import STRATEGY_NAMES
from keras_ext_cli.arg_types import add_verbose_argument
from keras_ext_cli.arg_types import is_module_name
from keras_ext_cli.arg_types import non_negative_int
from keras_ext_cli.arg_types import positive_float
from keras_ext_cli.arg_types import positive_int
from keras_ext_cli.arg_types import positive_int_or
from keras_ext_cli.arg_types import unit_rate
from keras_ext_cli.defaults import DECAY_RATE
from keras_ext_cli.defaults import DECAY_STEPS
from keras_ext_cli.defaults import TRAIN_DEFAULTS


def add_parser(subparsers):
    p = subparsers.add_parser(
        "train",
        help="train SimpleCNN, FashionCNN or your own model with compile/fit and save it as .keras",
        description=(
            "Train a keras_ext model, one your function builds or one saved as .keras, with "
            "model.compile/model.fit (RMSprop with "
            "ExponentialDecay, sparse categorical cross-entropy from logits, accuracy "
            "and CategoricalTruePositives), print the validation accuracy and write "
            "OUTPUT/model.keras, OUTPUT/metrics.json (settings, validation results, "
            "history, epoch times), OUTPUT/history.png (loss, accuracy and learning "
            "rate by epoch) and TensorBoard logs in OUTPUT/logs (see --logdir). Runs offline on the built-in digits by default. The "
            "dataset, the model, the rates, the cluster and --output (created and written to) are "
            "checked before training: bad input is one line on stderr and exit status 2, "
            "with nothing written."
        ),
    )
    p.add_argument(
        "--model",
        type=_model,
        default="simplecnn",
        metavar="MODEL",
        help=f"the model to train: {' or '.join(MODELS)} (keras_ext's); MODULE:FUNCTION, a function "
        "on the import path called as FUNCTION(input_shape, num_classes) that returns an uncompiled "
        "keras.Model; or a .keras file, whose weights are trained further. Every model is compiled "
        "with the optimizer and loss below",
    )
    p.add_argument(
        "--dataset",
        default="digits",
        help="'digits' (built in, offline), 'fashion_mnist' (downloaded once into Keras's cache), "
        "an IDX directory, an .npz, or a folder of class subfolders of images (Keras's "
        "image_dataset_from_directory layout: DIR/CLASS/*.png, 20%% held out for validation)",
    )
    p.add_argument(
        "--image-size",
        type=positive_int,
        nargs=2,
        metavar=("HEIGHT", "WIDTH"),
        help="an image folder's images are resized to this (default: the first image's size)",
    )
    p.add_argument("--epochs", type=positive_int, default=20, help="epochs to train")
    p.add_argument(
        "--batch-size",
        type=positive_int,
        default=TRAIN_DEFAULTS["batch_size"],
        help="batch size (with several devices, the global one)",
    )
    p.add_argument(
        "--learning-rate",
        type=positive_float,
        default=TRAIN_DEFAULTS["learning_rate"],
        help="initial learning rate of the ExponentialDecay schedule",
    )
    p.add_argument(
        "--decay-steps",
        type=positive_int,
        default=DECAY_STEPS,
        help="optimizer steps between the schedule's decays (a staircase)",
    )
    p.add_argument(
        "--decay-rate",
        type=positive_float,
        default=DECAY_RATE,
        help="what the learning rate is multiplied by every --decay-steps steps",
    )
    p.add_argument(
        "--dropout-rate",
        type=unit_rate,
        default=TRAIN_DEFAULTS["dropout_rate"],
        help="dropout before the classifier (SimpleCNN only)",
    )
    p.add_argument(
        "--output",
        default="runs/train",
        help="directory for model.keras, metrics.json, history.png and logs/ (see --logdir); created if missing",
    )
    p.add_argument(
        "--strategy",
        choices=STRATEGY_NAMES,
        default="auto",
        help="distribution: 'default' (one device), 'mirrored' (every local device), 'multiworker' "
        "(the processes TF_CONFIG, or on JAX the KERAS_DISTRIBUTION_* variables, describe) or 'auto' "
        "(multiworker if a cluster is described, mirrored with several devices, else default). "
        "--batch-size is the global batch; only the chief (process 0) writes --output",
    )
    p.add_argument(
        "--logdir",
        default=None,
        help="directory for TensorBoard logs (loss, metrics and learning rate by epoch; train/ and "
        "validation/ event files), created if missing; '' writes none. Needs TensorFlow: without it "
        "train says logs are off and trains on (default: OUTPUT/logs)",
    )
    p.add_argument(
        "--early-stopping",
        type=positive_int,
        default=None,
        metavar="PATIENCE",
        help="stop once the validation loss has not improved for PATIENCE epochs and keep the best "
        "epoch's weights; with --checkpoint-dir a resumed run keeps counting (default: off, every epoch "
        "is trained)",
    )
    p.add_argument("--seed", type=non_negative_int, default=0, help="random seed (>= 0)")
    add_verbose_argument(p)
    ckpt = p.add_argument_group(
        "checkpoints",
        "With --checkpoint-dir, a keras_ext CheckpointManager saves the whole training state "
        "(atomically, newest few kept) and a rerun on the same directory resumes exactly where "
        "the last checkpoint left off.",
    )
    ckpt.add_argument(
        "--checkpoint-dir",
        type=_checkpoint_dir,
        default=None,
        help="directory for ckpt-<step> checkpoints, created if missing, or a URL such as "
        "s3://bucket/run or gs://bucket/run (the s3 or gcs extra) (default: none, no checkpoints)",
    )
    ckpt.add_argument(
        "--save-freq",
        type=_save_freq,
        default=None,
        help="optimizer steps between checkpoints, or 'epoch' (default: 20)",
    )
    ckpt.add_argument(
        "--max-to-keep",
        type=_max_to_keep,
        default=None,
        help="newest checkpoints kept, or 'all' (default: 3)",
    )
    ckpt.add_argument(
        "--resume",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="continue from the newest checkpoint in --checkpoint-dir; "
        "--no-resume needs a directory without checkpoints (default: --resume)",
    )
    return p


def _model(text):
    """A keras_ext model's name, MODULE:FUNCTION or a path ending in .keras.

    Only the form is checked here (importing the module would import Keras):
    `keras_ext.cli.train.check_inputs` imports and looks up, before training.
    """
    if text in MODELS or text.endswith(".keras") or is_module_name(text):
        return text
    raise argparse.ArgumentTypeError(
        f"must be {' or '.join(MODELS)}, MODULE:FUNCTION (a function on the import path that "
        f"returns a keras.Model) or a .keras file, got {text}"
    )


def _checkpoint_dir(text):
    if os.path.exists(text) and not os.path.isdir(text):
        raise argparse.ArgumentTypeError(f"must be a directory, got {text}, which is an existing file")
    return text


_save_freq = positive_int_or("epoch")
_max_to_keep = positive_int_or("all")


def check_before_keras(args):
    """Refuse a local --checkpoint-dir another live process writes, before Keras and its backend start.

    A second run would otherwise be refused only once its CheckpointManager is
    made, after the backend's start-up (5 to 25 s). This is a look, not the
    hold: the run's CheckpointManager takes the lock itself (and refuses a
    process that took it in between). A URL's lease, and a job of several
    processes (only the chief takes the lock), are left to it.
    """
    directory = args.checkpoint_dir
    if directory is None or "://" in directory or args.strategy == "multiworker":
        return
    directory_lock.refuse_if_held(directory, directory_lock.checkpoint_directory_busy)

"""A user's model and hypermodel whose building waits for a file: a run that holds a directory stays
alive, holding it, until the test lets it go (no race against how fast the machine is).

`KERAS_EXT_TEST_GATE` names the file. Used as `--model tests.cli.gated_models:build` and
`--hypermodel tests.cli.gated_models:build_hp` by the one-writer tests.
"""

import os
import time

import keras


def wait_for_the_gate(timeout=300):
    path = os.environ["KERAS_EXT_TEST_GATE"]
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise TimeoutError(f"the test never created {path}")
        time.sleep(0.05)


def build(input_shape, num_classes):
    """`keras-ext train --model`: built once the directory is held (after the checkpoint manager)."""
    wait_for_the_gate()
    return keras.Sequential(
        [keras.Input(input_shape), keras.layers.Flatten(), keras.layers.Dense(num_classes)]
    )


_builds = 0


def build_hp(hp):
    """`keras-ext tune --hypermodel`: the first build checks the objective, before the search takes its
    project's lock; every later one (a trial's, under the lock) waits for the gate."""
    global _builds
    _builds += 1
    if _builds > 1:
        wait_for_the_gate()
    # tests/tuning/tiny_data.py's digits: 8x8 images, 10 classes.
    model = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Flatten(),
            keras.layers.Dense(hp.Int("units", 4, 8, step=4), activation="relu"),
            keras.layers.Dense(10),
        ]
    )
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    return model

"""One side of `ab_commits.py`: trains the benchmark's variants with the keras_ext of its own tree, on command.

Started by `ab_commits.py` with that tree first on the path. Reads one JSON
command per line on stdin and answers each with one line on stdout that
starts with `REPLY` (Keras may print other lines):

- `{"op": "group", "model", "batch_size", "data", "variants", "steps_per_execution", "epoch_steps"}`:
  builds one model per variant from the same initial weights, on the same
  synthetic data as `keras-ext bench`, and traces each (not timed);
- `{"op": "steady", "variant", "epochs"}`: one `fit` call of a warm-up epoch
  and `epochs` timed ones; answers the timed epochs' seconds;
- `{"op": "where"}`: where keras_ext was imported from, and the versions;
- `{"op": "quit"}`.
"""

import json
import os
import sys

import keras
import numpy as np

import keras_ext

try:
    from keras_ext.benchmarking.variant import Variant
    from keras_ext.benchmarking.workload import make_model
except ImportError:  # a tree from before keras_ext.benchmarking (2026-11-28 and earlier)
    from keras_ext.training.benchmark import _Variant as Variant
    from keras_ext.training.benchmark import make_model

INPUT_SHAPE = (28, 28, 1)
NUM_CLASSES = 10


def _group(command):
    rng = np.random.default_rng(0)
    n = command["batch_size"] * command["epoch_steps"]
    x = rng.random((n, *INPUT_SHAPE)).astype("float32")
    y = rng.integers(0, NUM_CLASSES, n).astype("int32")
    initial = make_model(command["model"]).get_weights()
    runners = {}
    for name in command["variants"]:
        model = make_model(command["model"])
        model.set_weights(initial)
        runner = Variant(name, model, command["batch_size"], command["data"], command["steps_per_execution"])
        runner.timed_run(x, y)  # tracing, compilation, first-call allocations
        runners[name] = runner
    return runners, x, y


def main():
    runners = x = y = None
    for line in sys.stdin:
        command = json.loads(line)
        if command["op"] == "quit":
            break
        if command["op"] == "where":
            reply = {
                "keras_ext": os.path.dirname(os.path.dirname(keras_ext.__file__)),
                "keras": keras.__version__,
                "backend": keras.backend.backend(),
            }
        elif command["op"] == "group":
            runners, x, y = _group(command)
            reply = {"ok": True}
        else:
            reply = {"seconds": runners[command["variant"]].steady_run(x, y, command["epochs"])}
        print("REPLY " + json.dumps(reply), flush=True)


if __name__ == "__main__":
    main()

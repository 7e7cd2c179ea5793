"""Take a checkpoint directory as a writer, say so, and hold it until killed: the other process of tests/checkpoint/test_one_writer.py.

    python -m tests.checkpoint.one_writer_holder {manager,checkpointer} DIRECTORY

Prints "ready" once its CheckpointManager or Checkpointer holds DIRECTORY,
or "refused: MESSAGE" (exit 3) when another process does.
"""

import sys
import time

import keras

from keras_ext.callbacks import CheckpointManager
from keras_ext.checkpoint import CheckpointDirectoryBusyError
from keras_ext.checkpoint import Checkpointer


def main(kind, directory):
    try:
        if kind == "manager":
            held = CheckpointManager(directory)
        else:
            model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
            held = Checkpointer(directory, model, keras.optimizers.SGD())
    except CheckpointDirectoryBusyError as e:
        print(f"refused: {e}", flush=True)
        return 3
    print("ready", flush=True)
    while held is not None:
        time.sleep(1)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))

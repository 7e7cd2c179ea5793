"""Training script for test_user_data_resume.py: fit on a user's own pipeline, with a CheckpointManager.

`python -m tests.callbacks.user_data_job KIND DIRECTORY WEIGHTS [KILL_AT]`

KIND is the user's pipeline: `pydataset` (a PyDataset that reshuffles by
(seed, epoch) in `set_epoch`), `grain` (a shuffled, batched Grain MapDataset)
or `tf.data` (a plain `shuffle().batch()` pipeline, which cannot be put back).
3 epochs of 3 batches, a checkpoint every 2 steps, the pipeline given to the
manager as `data`. With KILL_AT the process SIGKILLs itself at the end of that
optimizer step. A run that finishes writes its variables to WEIGHTS and prints
as JSON the epochs it trained, the final optimizer step and (pydataset) the
epochs `set_epoch` was told.
"""

import json
import os
import signal
import sys


def user_pipeline(kind, x, y):
    import keras
    import numpy as np

    if kind == "pydataset":

        class Shuffled(keras.utils.PyDataset):
            def __init__(self):
                super().__init__()
                self.order = np.random.default_rng([7, 0]).permutation(len(x))
                self.told = []

            def set_epoch(self, epoch):
                self.told.append(epoch)
                self.order = np.random.default_rng([7, epoch]).permutation(len(x))

            def __len__(self):
                return 3

            def __getitem__(self, index):
                rows = self.order[index * 32 : (index + 1) * 32]
                return x[rows], y[rows]

        return Shuffled()
    if kind == "grain":
        import grain

        return grain.MapDataset.range(len(x)).shuffle(seed=7).map(lambda i: (x[i], y[i])).batch(32)
    import tensorflow as tf

    return tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(x), seed=7).batch(32)


def main(kind, directory, weights, kill_at=None):
    import keras
    import numpy as np

    from keras_ext.callbacks import CheckpointManager
    from keras_ext.data import load_arrays

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
    arrays = load_arrays("digits")
    data = user_pipeline(kind, arrays.x_train[:96], arrays.y_train[:96].astype("int32"))
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dropout(0.2), keras.layers.Dense(10)]
    )
    model.compile(keras.optimizers.Adam(1e-2), keras.losses.SparseCategoricalCrossentropy(from_logits=True))

    class KillAtStep(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if int(keras.ops.convert_to_numpy(self.model.optimizer.iterations)) == kill_at:
                sys.stdout.flush()
                os.kill(os.getpid(), signal.SIGKILL)

    manager = CheckpointManager(directory, save_freq=2, data=data)
    history = model.fit(data, epochs=3, shuffle=False, callbacks=[manager, KillAtStep()], verbose=0)
    np.savez(weights, *[keras.ops.convert_to_numpy(v) for v in model.variables])
    step = int(keras.ops.convert_to_numpy(model.optimizer.iterations))
    told = getattr(data, "told", None)  # the epochs a set_epoch pipeline was told
    print(
        json.dumps(
            {"epochs": history.epoch, "resumed_epoch": manager.resumed_epoch, "step": step, "told": told}
        )
    )


if __name__ == "__main__":
    arguments = sys.argv[1:]
    main(*arguments[:3], *(int(a) for a in arguments[3:]))

"""What `keras-ext train` trains with by default, in a module that imports nothing.

The train parser shows these defaults in `--help`, and
`keras_ext.tuning.SimpleCNNHyperModel` starts every hyperparameter at them
(so the grid search's first trial is the model `keras-ext train` trains):
both read them here, where `--help` can reach them without Keras.
"""

# SimpleCNN's architecture, the optimizer and the batch size: the search's hyperparameters.
TRAIN_DEFAULTS = {
    "num_blocks": 3,
    "filters": (16, 32, 64),
    "kernel_size": 3,
    "dropout_rate": 0.0,
    "weight_decay": 1e-4,
    "optimizer": "rmsprop",
    # 1.2e-3, not the TF2 example's 3e-3: at 3e-3 the weights outrun BatchNormalization's moving
    # statistics, and 3-epoch runs validated below 0.9 (docs/building-blocks.md).
    "learning_rate": 1.2e-3,
    "batch_size": 32,
}
# The staircase ExponentialDecay of the learning rate: multiplied by DECAY_RATE every DECAY_STEPS steps.
DECAY_STEPS = 100
DECAY_RATE = 0.8

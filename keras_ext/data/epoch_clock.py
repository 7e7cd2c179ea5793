"""The process-wide data epoch and the (seed, epoch) sample order, in plain Python and NumPy.

Exact resume needs epoch `e` to see the same batches in the same order whether
the process trained epochs 0..e-1 itself or started at `e` from a checkpoint.
So keras_ext's shuffled pipelines (tf.data or `keras.utils.PyDataset`) read
the epoch set here when an epoch's iteration starts and permute the samples
with `epoch_permutation(num_samples, seed, epoch)`. The clock and the
permutation need no TensorFlow: the tf.data pipeline mirrors the clock into a
`tf.Variable` it creates itself (see `keras_ext.data.pipeline`).
"""

import numbers
import threading

import numpy as np

EPOCH_UNSET = -1

_lock = threading.Lock()
_epoch = EPOCH_UNSET
# Called with every new epoch value: how the tf.data pipeline's tf.Variable follows
# the clock without this module importing TensorFlow.
_listeners = []


def set_epoch(epoch):
    """Make shuffled pipelines produce epoch `epoch`'s order on their next iteration.

    Call it before iterating the dataset for that epoch (Keras `fit` starts
    iterating after `on_epoch_begin`). `None` or `EPOCH_UNSET` returns to
    per-iteration reshuffling.
    """
    global _epoch
    if epoch is None:
        epoch = EPOCH_UNSET
    if isinstance(epoch, bool) or not isinstance(epoch, numbers.Integral) or epoch < EPOCH_UNSET:
        raise ValueError(f"`epoch` must be a non-negative int or None, got epoch={epoch!r}.")
    with _lock:
        _epoch = int(epoch)
        for listener in _listeners:
            listener(_epoch)


def get_epoch():
    """The epoch shuffled pipelines will produce next, or None when unset."""
    return None if _epoch == EPOCH_UNSET else _epoch


def reset_epoch():
    """Return shuffled pipelines to per-iteration reshuffling (what `set_epoch(None)` does)."""
    set_epoch(None)


def add_listener(listener):
    """Call `listener(epoch)` now and on every change (`EPOCH_UNSET` when unset)."""
    with _lock:
        _listeners.append(listener)
        listener(_epoch)


def check_seed(seed):
    """Return `seed` as an int >= 0 (what NumPy's SeedSequence accepts), else raise ValueError."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"`seed` must be a non-negative int, got seed={seed!r}.")
    return int(seed)


def epoch_permutation(num_samples, seed, epoch):
    """The sample order of `epoch` for `seed`: a NumPy permutation of `range(num_samples)`.

    A PCG64 generator seeded with `SeedSequence([seed, epoch])` (what
    `np.random.default_rng([seed, epoch])` gives today, pinned here so a
    future NumPy default cannot change the order under a saved checkpoint).
    Both pipeline kinds use it, so they agree batch for batch.
    """
    key = [check_seed(seed), int(epoch)]
    if key[1] < 0:
        raise ValueError(f"`epoch` must be a non-negative int, got epoch={epoch!r}.")
    return _permutation(num_samples, key)


def unset_permutation(num_samples, seed, draw):
    """The order used when no epoch is set: keyed by `draw`, a number that changes per iteration.

    The trailing 1 gives these keys a different length from epoch keys, so
    the two kinds of order never coincide.
    """
    return _permutation(num_samples, [check_seed(seed), int(draw), 1])


def _permutation(num_samples, key):
    generator = np.random.Generator(np.random.PCG64(np.random.SeedSequence(key)))
    return generator.permutation(int(num_samples))

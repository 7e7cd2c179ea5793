"""The sample order of an epoch as a function of `(seed, epoch)`, in plain Python and NumPy.

Exact resume needs epoch `e` to see the same batches in the same order whether
the process trained epochs 0..e-1 itself or started at `e` from a checkpoint.
So keras_ext's shuffled pipelines (tf.data or `keras.utils.PyDataset`)
permute their samples with `epoch_permutation(num_samples, seed, epoch)`,
where `epoch` is the pipeline's own count of its passes (see
`keras_ext.data.pass_counter`). Nothing here holds state.
"""

import numbers

import numpy as np


def check_seed(seed):
    """Return `seed` as an int >= 0 (what NumPy's SeedSequence accepts), else raise ValueError."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"`seed` must be a non-negative int, got seed={seed!r}.")
    return int(seed)


def check_epoch(epoch):
    """Return `epoch` as an int >= 0, else raise ValueError."""
    if isinstance(epoch, bool) or not isinstance(epoch, numbers.Integral) or epoch < 0:
        raise ValueError(f"`epoch` must be a non-negative int, got epoch={epoch!r}.")
    return int(epoch)


def epoch_permutation(num_samples, seed, epoch):
    """The sample order of `epoch` for `seed`: a NumPy permutation of `range(num_samples)`.

    A PCG64 generator seeded with `SeedSequence([seed, epoch])` (what
    `np.random.default_rng([seed, epoch])` gives today, pinned here so a
    future NumPy default cannot change the order under a saved checkpoint).
    Both pipeline kinds use it, so they agree batch for batch.
    """
    key = [check_seed(seed), check_epoch(epoch)]
    generator = np.random.Generator(np.random.PCG64(np.random.SeedSequence(key)))
    return generator.permutation(int(num_samples))

"""A saved device copy (MirroredStrategy's per-device BatchNorm statistics) is converted as its variable is.

Real copies exist only under MirroredStrategy on several devices
(tests/distribute/test_mirrored_resume.py restores them); here one stands in
for a device copy so the conversion rule can be checked on any backend.
"""

import keras
import numpy as np

from keras_ext.checkpoint import _training_state as training_state
from keras_ext.checkpoint._checkpoint_files import replica_key


def _plan(monkeypatch, saved):
    variable = keras.Variable(np.zeros(3, "int32"), dtype="int32", name="count")
    copy = keras.Variable(np.zeros(3, "int32"), dtype="int32", name="count_copy")
    monkeypatch.setattr(training_state, "device_copies", lambda v: (copy,) if v is variable else ())
    return copy, training_state._copies_plan({replica_key("model", 0, 1): saved}, "model", 0, variable)


def test_a_device_copy_that_fits_is_converted_to_the_variable_dtype(monkeypatch):
    copy, (plan, problems) = _plan(monkeypatch, np.array([1, 2, 3], "int64"))
    assert problems == [] and len(plan) == 1 and plan[0][0] is copy
    assert plan[0][1].dtype == np.int32 and plan[0][1].tolist() == [1, 2, 3]


def test_a_device_copy_whose_integers_do_not_fit_is_refused_not_wrapped(monkeypatch):
    _, (plan, problems) = _plan(monkeypatch, np.array([1, 2, 2**40], "int64"))
    assert plan == []
    assert len(problems) == 1 and "device copy 1" in problems[0] and "do not fit int32" in problems[0]

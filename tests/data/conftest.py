"""Pipeline tests run once per pipeline kind; tf.data's runs skip where TensorFlow is absent."""

import pytest

from keras_ext.data import pipeline


@pytest.fixture(params=["tf.data", "pydataset"])
def kind(request):
    if request.param == "tf.data":
        pytest.importorskip("tensorflow", reason="tf.data pipelines need TensorFlow")
    return request.param


@pytest.fixture(autouse=True)
def _no_epoch_set():
    """Every test starts and ends with the process-wide data epoch unset."""
    pipeline.reset_epoch()
    yield
    pipeline.reset_epoch()

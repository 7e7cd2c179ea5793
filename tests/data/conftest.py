"""Pipeline tests run once per pipeline kind; tf.data's runs skip where TensorFlow is absent."""

import pytest


@pytest.fixture(params=["tf.data", "pydataset"])
def kind(request):
    if request.param == "tf.data":
        pytest.importorskip("tensorflow", reason="tf.data pipelines need TensorFlow")
    return request.param

"""Markers that Keras's own tests use (defined in Keras's conftest, which is not installed)."""


def pytest_configure(config):
    config.addinivalue_line("markers", "requires_trainable_backend: Keras's marker for training tests")

"""Fixtures of the checkpoint tests."""

import fsspec
import pytest


@pytest.fixture
def memory_url(request):
    """A `memory://` checkpoint URL of this test's own, emptied at its end."""
    url = f"memory://{request.node.module.__name__.rsplit('.', 1)[-1]}-{request.node.name}"
    yield url
    fs = fsspec.filesystem("memory")
    path = "/" + url.split("://", 1)[1]
    if fs.exists(path):
        fs.rm(path, recursive=True)

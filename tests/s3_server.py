"""A real S3-compatible HTTP server on 127.0.0.1 for the tests: moto's standalone server mode.

The tests start and stop it themselves. keras_ext reaches it as a user
reaches any S3 endpoint, through the standard variables (`AWS_ENDPOINT_URL`,
`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_DEFAULT_REGION`), which
botocore, and with it s3fs, reads. No network beyond loopback.
"""

import contextlib
import os
import socket
import sys
import urllib.request

import pytest

from tests.subprocess_utils import kill_group
from tests.subprocess_utils import start_until


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def client_environment(endpoint):
    """The variables a process needs to reach the server at `endpoint` (fake credentials: moto takes any)."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        # A dead endpoint fails in seconds, not after botocore's default minute of retries.
        "AWS_MAX_ATTEMPTS": "2",
    }


def _answers(endpoint):
    try:
        with urllib.request.urlopen(endpoint, timeout=1):
            return True
    except OSError as e:
        return getattr(e, "code", None) is not None  # an HTTP error is an answer too


@contextlib.contextmanager
def running_s3_server():
    """Start moto's S3 server on a free loopback port; yield its endpoint URL; kill it at the end."""
    pytest.importorskip("moto.server", reason="the S3 tests need moto[server] (the dev extra)")
    pytest.importorskip("s3fs", reason="the S3 tests need s3fs (the dev extra)")
    endpoint = f"http://127.0.0.1:{free_port()}"
    port = endpoint.rsplit(":", 1)[1]
    # werkzeug logs every request to stderr, which start_until pipes and nobody reads: quieted,
    # so a long test cannot fill the pipe and stall the server.
    quiet_server = (
        "import logging, sys; logging.getLogger('werkzeug').setLevel(logging.ERROR); "
        "from moto.server import main; main(sys.argv[1:])"
    )
    proc = start_until(
        [sys.executable, "-c", quiet_server, "-H", "127.0.0.1", "-p", port],
        ready=lambda: _answers(endpoint),
        never="moto's S3 server did not answer",
        timeout=60,
        env={**os.environ, "MOTO_CALL_RESET_API": "false"},
    )
    try:
        yield endpoint
    finally:
        kill_group(proc)


def s3_filesystem():
    """A fresh s3fs filesystem for the current environment's endpoint (no instance cache)."""
    import s3fs

    return s3fs.S3FileSystem(skip_instance_cache=True)


def forget_s3_clients():
    """s3fs keeps one client per set of arguments: a changed endpoint needs a new one."""
    if "s3fs" in sys.modules:
        sys.modules["s3fs"].S3FileSystem.clear_instance_cache()


@contextlib.contextmanager
def serving_bucket(bucket):
    """A running server with `bucket` made, this process's AWS variables pointing at it; yield its endpoint.

    The variables are put back as they were at the end, and the server killed.
    """
    with running_s3_server() as endpoint:
        saved = {k: os.environ.get(k) for k in client_environment(endpoint)}
        os.environ.update(client_environment(endpoint))
        forget_s3_clients()
        try:
            s3_filesystem().mkdir(bucket)
            yield endpoint
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            forget_s3_clients()

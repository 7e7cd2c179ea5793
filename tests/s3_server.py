"""A real S3-compatible HTTP server on 127.0.0.1 for the tests: moto's server mode.

The tests start and stop it themselves. keras_ext reaches it as a user
reaches any S3 endpoint, through the standard variables (`AWS_ENDPOINT_URL`,
`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_DEFAULT_REGION`), which
botocore, and with it s3fs, reads; other processes (a training script, the
command line) reach it the same way. No network beyond loopback.

The server runs in a thread of the test process (moto's ThreadedMotoServer),
so a test can stop it and start it again on the same port: clients then meet
a refused connection, as with a store that went down, and the buckets come
back with the restart, as a real store's do (they live in this process).
"""

import contextlib
import os
import socket
import sys
import time
import urllib.request

import pytest


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


class S3Server:
    """moto's S3 server on a free loopback port, in a thread of this process; `endpoint` is its URL."""

    def __init__(self):
        self.endpoint = f"http://127.0.0.1:{free_port()}"
        self._server = None

    def start(self, timeout=60):
        """Start serving (again: the buckets kept) and wait until it answers."""
        import logging

        from moto.server import ThreadedMotoServer

        # werkzeug logs every request; nobody reads those lines.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        port = int(self.endpoint.rsplit(":", 1)[1])
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        self._server.start()
        deadline = time.monotonic() + timeout
        while not _answers(self.endpoint):
            if time.monotonic() > deadline:
                raise RuntimeError(f"moto's S3 server did not answer at {self.endpoint} in {timeout} s")
            time.sleep(0.1)

    def stop(self):
        """Stop serving: connections to the endpoint are refused until `start()`."""
        if self._server is not None:
            self._server.stop()
            self._server = None


@contextlib.contextmanager
def running_s3_server():
    """Start moto's S3 server, emptied of any earlier test's buckets; yield it (an S3Server); stop it at the end."""
    pytest.importorskip("moto.server", reason="the S3 tests need moto[server] (the dev extra)")
    pytest.importorskip("s3fs", reason="the S3 tests need s3fs (the dev extra)")
    server = S3Server()
    server.start()
    urllib.request.urlopen(urllib.request.Request(f"{server.endpoint}/moto-api/reset", method="POST"))
    try:
        yield server
    finally:
        server.stop()


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
    """A running server with `bucket` made, this process's AWS variables pointing at it; yield the S3Server.

    The variables are put back as they were at the end, and the server stopped.
    """
    with running_s3_server() as server:
        endpoint = server.endpoint
        saved = {k: os.environ.get(k) for k in client_environment(endpoint)}
        os.environ.update(client_environment(endpoint))
        forget_s3_clients()
        try:
            s3_filesystem().mkdir(bucket)
            yield server
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            forget_s3_clients()

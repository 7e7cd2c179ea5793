"""Preemption: turn SIGTERM / SIGINT during training into "save at the next batch end, then stop".

Lightning's design (PR #21407): the signal handler only records the signal;
the checkpoint is written by the training thread at the next batch-end hook,
where the state is well defined (I/O inside a handler could run in the middle
of any function, a checkpoint write included). When training has stopped and
the checkpoint is on disk, the signal is delivered again to whatever handler
was there before (by default SIGTERM ends the process, SIGINT raises
KeyboardInterrupt), so the process exits promptly as the sender asked.

A second SIGINT while the first is pending aborts at once (the previous
handler runs: KeyboardInterrupt); so does a second SIGTERM.

Handlers are only installed from the main thread (Python allows no other).
They are put back when training ends. If a `fit` ends by an exception
(Keras then calls no `on_train_end`), a later signal finds that the
training loop it was installed for is no longer running (the CallbackList
that started it is not on the stack), puts the previous handler back and
delivers the signal to it: a stale handler never swallows a signal.
"""

import os
import signal
import sys
import threading
import weakref

import keras

SIGNALS = (signal.SIGTERM, signal.SIGINT)


def _calling_callback_list():
    """The CallbackList whose `on_train_begin` is running (found on the stack), or None."""
    frame = sys._getframe(1)
    for _ in range(8):
        if frame is None:
            return None
        candidate = frame.f_locals.get("self")
        if isinstance(candidate, keras.callbacks.CallbackList):
            return candidate
        frame = frame.f_back
    return None


def _on_stack(frame, target):
    while frame is not None:
        if any(value is target for value in frame.f_locals.values()):
            return True
        frame = frame.f_back
    return False


class PreemptionGuard:
    """Installs the handlers for one training run and remembers which signal arrived."""

    def __init__(self):
        self.received = None  # the signal number, once one arrived
        self.handled = False  # whether the checkpoint for it was written
        self._previous = {}
        self._callback_list = None

    def install(self):
        """Install handlers for SIGTERM and SIGINT (only on the main thread; elsewhere a no-op)."""
        self.received, self.handled = None, False
        if threading.current_thread() is not threading.main_thread():
            return False
        callback_list = _calling_callback_list()
        self._callback_list = None if callback_list is None else weakref.ref(callback_list)
        for signum in SIGNALS:
            previous = signal.getsignal(signum)
            owner = getattr(previous, "__self__", None)
            if isinstance(owner, PreemptionGuard) and owner is not self:
                # Left by a fit that raised: chain to what it replaced, not to it.
                previous = owner._previous.pop(signum, signal.SIG_DFL)
            self._previous[signum] = previous
            signal.signal(signum, self._handle)
        return True

    def uninstall(self):
        """Put the previous handlers back; deliver the signal that stopped training to them."""
        previous, self._previous = self._previous, {}
        for signum, handler in previous.items():
            if signal.getsignal(signum) == self._handle:
                signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
        if self.received is not None and previous:
            signum, self.received = self.received, None
            _deliver(signum, previous.get(signum))

    @property
    def requested(self):
        return self.received is not None and not self.handled

    def _live(self, frame):
        if self._callback_list is None:
            return True
        callback_list = self._callback_list()
        return callback_list is not None and _on_stack(frame, callback_list)

    def _handle(self, signum, frame):
        # Only flags and handler swaps here: no I/O, no Keras.
        if not self._live(frame) or self.received is not None:
            # A stale handler, or a second signal: the previous handler decides now.
            previous, self._previous = self._previous, {}
            for number, handler in previous.items():
                signal.signal(number, handler if handler is not None else signal.SIG_DFL)
            self.received = None
            _deliver(signum, previous.get(signum), frame)
            return
        self.received = signum


def _deliver(signum, handler, frame=None):
    if callable(handler):
        handler(signum, frame)
    elif handler == signal.SIG_IGN:
        return
    else:  # SIG_DFL (or unknown): the default action, e.g. terminate
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)

"""LiteRT interpreters, created without the runtime's "INFO: Created TensorFlow Lite XNNPACK
delegate" line, which its native logger writes to stderr on every start with no switch to turn off."""
from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from ai_edge_litert.interpreter import Interpreter

_STDERR_LOCK = threading.Lock()


@contextlib.contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    """fd 2 points at /dev/null for the block (native code ignores sys.stderr)."""
    with _STDERR_LOCK:
        sys.stderr.flush()
        saved = os.dup(2)
        try:
            with open(os.devnull, "wb") as devnull:
                os.dup2(devnull.fileno(), 2)
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def load_interpreter(path: Path | str, num_threads: int) -> Interpreter:
    """An interpreter with its tensors allocated, ready to invoke."""
    with _native_stderr_silenced():
        interpreter = Interpreter(model_path=str(path), num_threads=num_threads)
        interpreter.allocate_tensors()
    return interpreter


class BatchModel:
    """A one-input, one-output model whose batch size follows each call, behind a lock: a LiteRT
    interpreter is not thread-safe and the bot calls it from a worker pool."""

    def __init__(self, path: Path | str, num_threads: int):
        self._interpreter = load_interpreter(path, num_threads)
        self.input_shape = tuple(self._interpreter.get_input_details()[0]["shape"])
        self._input = self._interpreter.get_input_details()[0]["index"]
        self._output = self._interpreter.get_output_details()[0]["index"]
        self._batch = int(self.input_shape[0])
        self._lock = threading.Lock()

    def run(self, batch: np.ndarray) -> np.ndarray:
        with self._lock:
            if batch.shape[0] != self._batch:
                self._interpreter.resize_tensor_input(self._input, batch.shape, strict=False)
                self._interpreter.allocate_tensors()
                self._batch = batch.shape[0]
            self._interpreter.set_tensor(self._input, batch)
            self._interpreter.invoke()
            return self._interpreter.get_tensor(self._output).copy()

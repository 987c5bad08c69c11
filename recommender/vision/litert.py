"""LiteRT interpreters, created without the runtime's "INFO: Created TensorFlow Lite XNNPACK
delegate" line, which its native logger writes to stderr on every start with no switch to turn off."""
from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

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

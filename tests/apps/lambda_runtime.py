"""A Lambda-style runtime loop for ``tests/test_serverless.py``: it imports a handler module and
calls ``handler(event, context)`` once per JSON line read from stdin, with a context whose
remaining time counts down from the event's ``timeout_ms``. After each call it writes
``done <invocation> <result>`` and stops itself (SIGSTOP), as the runtime freezes the process
between invocations: no thread of it makes progress until the parent sends SIGCONT.

    python lambda_runtime.py MODULE_PATH
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import sys
import time
from typing import Any


class Context:
    """The part of Lambda's context object that a handler reads for its time budget."""

    def __init__(self, timeout_ms: float, request_id: str) -> None:
        self._deadline = time.monotonic() + timeout_ms / 1000.0
        self.aws_request_id = request_id

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def load(path: str) -> Any:
    spec = importlib.util.spec_from_file_location("lambda_function", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    module = load(sys.argv[1])
    for line in sys.stdin:
        event = json.loads(line)
        context = Context(event.get("timeout_ms", 30_000), f"request-{event['invocation']}")
        try:
            result: Any = module.handler(event, context)
        except Exception as error:
            result = {"error": repr(error)}
        print(f"done {event['invocation']} {json.dumps(result)}", flush=True)
        os.kill(os.getpid(), signal.SIGSTOP)  # frozen until the next invocation


if __name__ == "__main__":
    main()

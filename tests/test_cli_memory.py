"""``session-analytics import`` in bounded memory, whatever the input.

The command runs in a child process of a small Python wrapper whose only child it is, so that
``RUSAGE_CHILDREN`` is the command's own peak RSS. Inputs are generated: ~100 MB of lines that
are not JSON (each streamed to the failed file as it is read, never collected), and a ~100 MB
JSON array on one line (longer than --max-line-bytes: read in pieces up to its end and refused
as line_too_long, its text not kept). The peak stays under 200 MiB.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from support import EXE, sandbox_env

from session_analytics.sandbox import Sandbox

MAX_RSS_MIB = 200
TARGET_BYTES = 100 * 1024 * 1024

# Runs the command as its only child and prints that child's peak RSS (KiB on Linux).
WRAPPER = """
import resource, subprocess, sys
code = subprocess.call(sys.argv[1:])
sys.stderr.write("\\npeak-rss-kib=%d\\n" % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(code)
"""


def measured(*args: str, env: dict[str, str]) -> tuple[int, str, str, float]:
    """Run the command; (exit code, stdout, stderr, its peak RSS in MiB)."""
    done = subprocess.run(
        [sys.executable, "-c", WRAPPER, str(EXE), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    err, _, peak = done.stderr.rpartition("\npeak-rss-kib=")
    kib = int(peak.strip())
    if sys.platform == "darwin":  # bytes there
        kib //= 1024
    return done.returncode, done.stdout, err, kib / 1024


def read_ndjson(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.slow
def test_100_mb_of_lines_that_are_not_json_stream_to_the_failed_file(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    path = tmp_path / "bad.ndjson"
    line = "{not json " + "x" * 88 + "\n"  # 99 bytes
    count = TARGET_BYTES // len(line)
    with path.open("w", encoding="utf-8") as out:
        out.write('{"uid": "first"}\n')
        block = line * 10_000
        for _ in range(count // 10_000):
            out.write(block)
        out.write('{"uid": "last"}\n')
    bad = count // 10_000 * 10_000

    code, out, err, peak_mib = measured(
        "import", "users", str(path), "--no-progress", "--poll-interval", "0.05",
        env=sandbox_env(sandbox),
    )  # fmt: skip

    assert code == 1, err
    assert out.startswith(f"imported 2 users of {bad + 2:,} read")
    assert f"{bad:,} failed: written to " in out
    assert peak_mib < MAX_RSS_MIB, f"peak RSS {peak_mib:.0f} MiB"
    failed_path = Path(f"{path}.failed.ndjson")
    with failed_path.open(encoding="utf-8") as saved:
        first = json.loads(saved.readline())
        lines = 1 + sum(1 for _ in saved)
    assert lines == bad
    assert first["_raw"] == line.rstrip("\n")
    assert first["_error"]["code"] == "invalid_json"
    assert first["_error"]["line"] == 2


@pytest.mark.slow
def test_a_100_mb_json_array_on_one_line_is_refused_without_being_held(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    path = tmp_path / "array.ndjson"
    element = json.dumps({"uid": "u", "display_name": "Someone"}) + ","
    with path.open("w", encoding="utf-8") as out:
        out.write('{"uid": "before"}\n')
        out.write("[")
        block = element * 10_000
        for _ in range(TARGET_BYTES // len(block)):
            out.write(block)
        out.write(element.rstrip(",") + "]\n")
        out.write('{"uid": "after"}\n')
    array_bytes = path.stat().st_size - len('{"uid": "before"}\n{"uid": "after"}\n') - 1

    code, out, err, peak_mib = measured(
        "import", "users", str(path), "--no-progress", "--poll-interval", "0.05",
        env=sandbox_env(sandbox),
    )  # fmt: skip

    assert code == 1, err
    assert out.startswith("imported 2 users of 3 read")
    assert peak_mib < MAX_RSS_MIB, f"peak RSS {peak_mib:.0f} MiB"
    failed_path = Path(f"{path}.failed.ndjson")
    assert failed_path.stat().st_size < 1024  # the line's text is not kept
    [record] = read_ndjson(failed_path)
    assert record["_error"]["code"] == "line_too_long"
    assert record["_error"]["line"] == 2
    assert f"the line is {array_bytes:,} bytes long" in record["_error"]["message"]


def test_max_line_bytes_refuses_a_long_line_and_goes_on(sandbox: Sandbox, tmp_path: Path) -> None:
    path = tmp_path / "users.ndjson"
    long_line = json.dumps({"uid": "long", "display_name": "x" * 5000})
    path.write_text('{"uid": "a"}\n' + long_line + '\n{"uid": "b"}\n' + long_line, encoding="utf-8")
    code, out, err, _ = measured(
        "import", "users", str(path), "--no-progress", "--poll-interval", "0.05",
        "--max-line-bytes", "1000", env=sandbox_env(sandbox),
    )  # fmt: skip
    assert code == 1, err
    assert out.startswith("imported 2 users of 4 read")
    failed = read_ndjson(Path(f"{path}.failed.ndjson"))
    assert [(f["_error"]["code"], f["_error"]["line"]) for f in failed] == [
        ("line_too_long", 2),
        ("line_too_long", 4),
    ]
    assert "--max-line-bytes (1,000)" in failed[0]["_error"]["message"]


def test_a_line_just_under_the_limit_that_parses_into_many_objects_stays_in_bounds(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """The worst a line within --max-line-bytes can do: empty objects, each a dict once
    parsed and checked. The default limit keeps even that well under the bound."""
    from session_analytics.cli._import.readers import MAX_LINE_BYTES

    path = tmp_path / "objects.ndjson"
    head, tail = '{"uid": "x", "properties": {"a": [', "]}}\n"
    count = (MAX_LINE_BYTES - len(head) - len(tail)) // 3
    path.write_text(head + ",".join(["{}"] * count) + tail, encoding="utf-8")
    assert MAX_LINE_BYTES - 3 <= path.stat().st_size <= MAX_LINE_BYTES + 1

    code, out, err, peak_mib = measured(
        "import", "users", str(path), "--no-progress", "--poll-interval", "0.05",
        env=sandbox_env(sandbox),
    )  # fmt: skip

    assert code == 1, err  # the SDK refuses the item; what matters is the memory
    assert out.startswith("imported 0 users of 1 read")
    assert peak_mib < MAX_RSS_MIB, f"peak RSS {peak_mib:.0f} MiB"

"""A background job: import users from a CSV file of any size into FullStory.

The file is read row by row (never loaded whole) and sent through batch import jobs of up to
50,000 users; progress is printed as jobs finish, and every row that failed is written to a
file with the reason, ready to be fixed and imported again.

    FULLSTORY_API_KEY=... python examples/import_users_csv.py users.csv

CSV columns: uid, display_name, email, and any ``plan``-style column becomes a property.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from session_analytics import fullstory
from session_analytics.errors import FSError, FSInvalidArgumentError
from session_analytics.fullstory import ImportFailure, ImportProgress

USER_COLUMNS = ("uid", "display_name", "email")


def users_from(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(newline="", encoding="utf-8") as file:
        for row in csv.DictReader(file):
            user: dict[str, Any] = {k: row[k] for k in USER_COLUMNS if row.get(k)}
            properties = {k: v for k, v in row.items() if k not in USER_COLUMNS and v}
            if properties:
                user["properties"] = properties
            yield user


def main(csv_path: str) -> int:
    path = Path(csv_path)
    if not path.is_file():
        print(f"error: no such file: {path}", file=sys.stderr)
        return 2
    failed_path = path.with_suffix(".failed.ndjson")
    failed_file = None
    failed_count = 0
    last: ImportProgress | None = None

    def show(progress: ImportProgress) -> None:
        nonlocal last
        if progress == last:
            return
        last = progress
        print(
            f"read {progress.read:,}  imported {progress.imported:,}  failed {progress.failed:,}  "
            f"jobs running {progress.jobs_running}, done {progress.jobs_done}",
            flush=True,
        )

    def keep(failures: list[ImportFailure]) -> None:
        nonlocal failed_count, failed_file
        if failed_file is None:
            failed_file = failed_path.open("w", encoding="utf-8")
        for failure in failures:
            failed_count += 1
            record = {"item": failure.item, "code": failure.code, "message": failure.message}
            failed_file.write(json.dumps(record, default=str) + "\n")

    try:
        with fullstory.init() as fs:
            result = fs.users.import_(users_from(path), on_progress=show, on_failed=keep)
    except FSInvalidArgumentError as error:  # no FULLSTORY_API_KEY, say
        print(f"error: {error}", file=sys.stderr)
        return 2
    except FSError as error:
        print(f"error: the import stopped: {error}", file=sys.stderr)
        return 3
    finally:
        if failed_file is not None:
            failed_file.close()

    print(f"imported {result.imported:,} users in {len(result.job_ids)} jobs")
    if failed_count:
        print(f"{failed_count:,} failed, see {failed_path}")
        return 1
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: python examples/import_users_csv.py USERS.csv", file=sys.stderr)
        raise SystemExit(2)
    raise SystemExit(main(sys.argv[1]))

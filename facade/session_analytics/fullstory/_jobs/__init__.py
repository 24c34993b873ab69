"""FullStory batch import jobs: ``batch_create()`` jobs and ``import_()``.

One status-poll reader (``polling``) and one walk through result pages (``paging``) serve both
the batch job's lifecycle (``batch_job``) and the import (``import_``); ``results`` and
``options`` hold what goes in and comes out. Imported on first use, with the names it publishes.
"""

from .batch_job import AsyncBatchJob, BatchJob
from .import_ import importer
from .options import BatchJobOptions
from .results import BatchJobResult, ImportProgress, ImportResult

__all__ = [
    "AsyncBatchJob",
    "BatchJob",
    "BatchJobOptions",
    "BatchJobResult",
    "ImportProgress",
    "ImportResult",
    "importer",
]

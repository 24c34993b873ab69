"""FullStory batch import jobs: ``batch_create()`` jobs and ``import_()``.

One status-poll reader (``polling``) and one walk through result pages (``paging``) serve both
a batch job (its IO-free ``lifecycle`` flow, driven by ``batch_job``) and the import
(``import_``); ``options`` and ``results`` hold what goes in and comes out.
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

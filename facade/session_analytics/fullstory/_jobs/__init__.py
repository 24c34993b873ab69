"""FullStory batch import jobs: ``batch_create()`` jobs (``batch_job``) and ``import_()``
(``import_``). Imported on first use, with the names the package publishes.
"""

from .batch_job import AsyncBatchJob, BatchJob, BatchJobOptions, BatchJobResult
from .import_ import ImportProgress, ImportResult, importer

__all__ = [
    "AsyncBatchJob",
    "BatchJob",
    "BatchJobOptions",
    "BatchJobResult",
    "ImportProgress",
    "ImportResult",
    "importer",
]

from enum import Enum


class JobStatus(str, Enum):
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    PROCESSING = "PROCESSING"

    def __str__(self) -> str:
        return str(self.value)

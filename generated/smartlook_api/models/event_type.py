from enum import Enum


class EventType(str, Enum):
    CUSTOM = "custom"
    ERROR = "error"

    def __str__(self) -> str:
        return str(self.value)

from enum import Enum


class SliceSettingsMode(str, Enum):
    FIRST = "FIRST"
    LAST = "LAST"
    TIMESTAMP = "TIMESTAMP"
    UNSPECIFIED = "UNSPECIFIED"

    def __str__(self) -> str:
        return str(self.value)

from enum import Enum


class ContextElement(str, Enum):
    DEVICE = "device"
    LOCATION = "location"
    ORG = "org"
    USER = "user"

    def __str__(self) -> str:
        return str(self.value)

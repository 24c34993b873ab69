from enum import Enum


class ResponseSchemaType(str, Enum):
    ARRAY = "ARRAY"
    BOOLEAN = "BOOLEAN"
    INTEGER = "INTEGER"
    NUMBER = "NUMBER"
    OBJECT = "OBJECT"
    OPENAPI_TYPE_UNSPECIFIED = "OPENAPI_TYPE_UNSPECIFIED"
    STRING = "STRING"

    def __str__(self) -> str:
        return str(self.value)

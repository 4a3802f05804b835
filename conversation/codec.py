"""Plain values of the core (frozen dataclasses of dates, tuples and enums) to JSON and
back, for half-done steps kept in the database."""

from __future__ import annotations

import dataclasses
import datetime as dt
from enum import Enum
from typing import Any


def encode(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dt.date):
        return {"__date__": value.isoformat()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            "__fields__": {
                f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)
            }
        }
    if isinstance(value, tuple):
        return {"__tuple__": [encode(v) for v in value]}
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        return {k: encode(v) for k, v in value.items()}
    return value


def decode(value: Any) -> Any:
    """The inverse of encode, except that dataclasses come back as dicts of their fields
    (the caller names the class: see `revive`)."""
    if isinstance(value, list):
        return [decode(v) for v in value]
    if isinstance(value, dict):
        if "__date__" in value:
            return dt.date.fromisoformat(value["__date__"])
        if "__tuple__" in value:
            return tuple(decode(v) for v in value["__tuple__"])
        if "__fields__" in value:
            return {k: decode(v) for k, v in value["__fields__"].items()}
        return {k: decode(v) for k, v in value.items()}
    return value

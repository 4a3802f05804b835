"""The one error a plan (or a mapping that belongs to it) is refused with."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class PlanError(Exception):
    """A plan file that cannot be used; `where` is a key path or ``line N``."""

    code: str
    where: str
    params: dict[str, Any] = field(default_factory=dict)
    source: str = ""

    def __str__(self) -> str:
        return f"{self.source}: {self.where}: {self.code} {self.params}"

"""Problems found in a plugin: one typed record each, phrased for a person."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

Severity = Literal["error", "warning"]


class Problem(BaseModel):
    """One thing wrong with a plugin, e.g. file='plugin.toml', field='[plugin].id'."""

    severity: Severity
    file: str
    field: str = ""
    message: str

    def sentence(self) -> str:
        where = f"{self.file}: {self.field}" if self.field else self.file
        return f"{where} — {self.message}"


def error(file: str, field: str, message: str) -> Problem:
    return Problem(severity="error", file=file, field=field, message=message)


def warning(file: str, field: str, message: str) -> Problem:
    return Problem(severity="warning", file=file, field=field, message=message)


def has_errors(problems: list[Problem]) -> bool:
    return any(p.severity == "error" for p in problems)

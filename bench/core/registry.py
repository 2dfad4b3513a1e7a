"""A small generic name -> object registry shared by tasks and methods."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from typing import Generic, TypeVar

from bench.core.errors import BenchError

T = TypeVar("T")
_SNAKE_CASE = re.compile(r"^[a-z][a-z0-9_]*$")


class Registry(Generic[T]):
    """Maps snake_case names to entries; duplicates are rejected, unknown names get suggestions."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}

    def add(self, name: str, entry: T) -> T:
        if not _SNAKE_CASE.match(name):
            raise BenchError(f"{self.kind} name {name!r} must be snake_case (lower-case letters, digits, _)")
        if name in self._entries:
            raise BenchError(f"{self.kind} {name!r} is registered twice: rename one of them")
        self._entries[name] = entry
        return entry

    def remove(self, name: str) -> T:
        """Take an entry out (a plugin that is unloaded; tests that plant an entry)."""
        return self._entries.pop(name)

    def get(self, name: str) -> T:
        if name in self._entries:
            return self._entries[name]
        close = difflib.get_close_matches(name, self._entries, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        known = ", ".join(sorted(self._entries))
        raise BenchError(f"unknown {self.kind} {name!r}: {hint}known {self.kind}s: {known}")

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

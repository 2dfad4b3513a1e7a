"""The one exception type whose message is shown to users as a single line, and the one-line
form of any failure recorded in a result row."""


class BenchError(Exception):
    """A problem with the user's input: the message says what is wrong and how to fix it."""


def one_line(failure: Exception) -> str:
    """The failure's type and the first line of its message, for a failed cell or perf row."""
    lines = str(failure).strip().splitlines()
    return f"{type(failure).__name__}: {lines[0] if lines else ''}"

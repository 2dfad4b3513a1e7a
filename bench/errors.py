"""The one exception type whose message is shown to users as a single line."""


class BenchError(Exception):
    """A problem with the user's input: the message says what is wrong and how to fix it."""

"""The one exception type the CLI turns into a one-line message and a non-zero exit."""


class StreamloopError(Exception):
    """A failure with a message meant for the user (no stack trace)."""

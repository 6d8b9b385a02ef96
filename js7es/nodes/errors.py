"""Errors that end a command with a message instead of a traceback."""


class CliError(Exception):
    """An expected failure: printed as a one-line message, exit code 2."""

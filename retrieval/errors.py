"""Errors with one-line messages meant for users."""


class ReelChatError(Exception):
    """Base error: ``str(err)`` is a one-line message a user can act on."""

    exit_code = 2


class DataError(ReelChatError):
    """A data file is missing, truncated, malformed or fails its checksum."""


class IndexCorruptError(ReelChatError):
    """The vector index is missing, unreadable or corrupt; the message says how to rebuild it."""


IndexError_ = IndexCorruptError  # former name, kept for callers written against the skeleton

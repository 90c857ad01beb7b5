"""Passwords: the policy (length, very common ones refused) and Argon2id hashing via argon2-cffi.

Hashes use :class:`argon2.PasswordHasher` with the library's recommended parameters (RFC 9106 low-memory
profile: Argon2id, t=3, 64 MiB, p=4). Passwords are never logged or stored in plain text.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 8
MAX_LENGTH = 1024  # longer inputs are refused before hashing (no CPU spent on megabyte passwords)


class PasswordRejected(ValueError):
    """A new password does not meet the policy; ``str()`` is one line for the user."""


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The refused very common passwords (package data ``common_passwords.txt``), lower-cased."""
    text = resources.files("agent.store").joinpath("common_passwords.txt").read_text(encoding="utf-8")
    return frozenset(ln.strip().casefold() for ln in text.splitlines() if ln.strip() and ln[0] != "#")


def check_policy(password: object, user_id: str) -> str:
    """``password`` if it may be used by ``user_id``; else raises :class:`PasswordRejected`."""
    if not isinstance(password, str) or len(password) < MIN_LENGTH:
        raise PasswordRejected(f"Use a password of at least {MIN_LENGTH} characters.")
    if len(password) > MAX_LENGTH:
        raise PasswordRejected(f"Use a password of at most {MAX_LENGTH} characters.")
    folded = password.casefold()
    if folded in common_passwords() or folded.strip() == user_id.casefold() or len(set(folded)) < 3:
        raise PasswordRejected("That password is too common or easy to guess; choose another.")
    return password


class Hasher:
    """Argon2id hashing with argon2-cffi's recommended parameters; thread-safe."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self._ph = hasher or PasswordHasher()
        self._dummy = self._ph.hash("reelchat-timing-equaliser")

    def hash(self, password: str) -> str:
        """An encoded ``$argon2id$...`` hash of ``password``."""
        return self._ph.hash(password)

    def verify(self, encoded: str | None, password: str) -> bool:
        """True when ``password`` matches ``encoded``; with no hash, spends the same time and says False."""
        if not isinstance(password, str) or len(password) > MAX_LENGTH:
            return False
        try:
            return bool(self._ph.verify(encoded or self._dummy, password)) and encoded is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, encoded: str) -> bool:
        """True when ``encoded`` was made with other parameters than today's."""
        return self._ph.check_needs_rehash(encoded)

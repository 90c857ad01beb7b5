"""Signed, expiring sign-in tokens and the signing key they need.

A token is ``itsdangerous.URLSafeTimedSerializer`` output carrying the user id and the user's token version;
the store bumps the version at sign-out and password change, so every older token stops working. The key
is ``REELCHAT_SECRET_KEY`` or, without it, a random key written once to ``<cache dir>/secret_key`` (0600).
"""

from __future__ import annotations

import logging
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

log = logging.getLogger(__name__)

SECRET_FILE = "secret_key"
SALT = "reelchat-sign-in"


class TokenError(ValueError):
    """A token that cannot be used; ``str()`` is one line for the user."""


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """What a valid token says: whose it is and which token version it was issued under."""

    user_id: str
    version: int


def load_secret_key(configured: str | None, cache_dir: Path) -> str:
    """``configured`` when set, else the key in ``cache_dir/secret_key`` (created 0600 on first run)."""
    if configured:
        return configured
    path = Path(cache_dir).expanduser() / SECRET_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            log.warning("%s is readable by other users (mode %o); chmod 600 it", path, mode)
        key = path.read_text(encoding="ascii").strip()
        if len(key) < 32:
            raise TokenError(f"{path} holds no usable key; delete it to make a new one") from None
        return key
    key = secrets.token_urlsafe(48)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(key + "\n")
    return key


class TokenSigner:
    """Issues and checks tokens; ``max_age_s`` is how long one stays valid."""

    def __init__(self, secret_key: str, max_age_s: float) -> None:
        if len(secret_key) < 16:
            raise ValueError("the signing key must have at least 16 characters")
        self._serializer = URLSafeTimedSerializer(secret_key, salt=SALT)
        self.max_age_s = max_age_s

    def issue(self, user_id: str, version: int) -> str:
        """A new token for ``user_id`` at token ``version``."""
        return str(self._serializer.dumps({"u": user_id, "v": version}))

    def read(self, token: object) -> TokenClaims:
        """The claims of a well-signed, unexpired token; else :class:`TokenError`."""
        if not isinstance(token, str) or not token or len(token) > 4096:
            raise TokenError("You're not signed in.")
        try:
            data = self._serializer.loads(token, max_age=max(1, round(self.max_age_s)))
        except SignatureExpired:
            raise TokenError("Your sign-in has expired; please sign in again.") from None
        except BadSignature:
            raise TokenError("That sign-in token is not valid; please sign in again.") from None
        if (
            not isinstance(data, dict)
            or not isinstance(data.get("u"), str)
            or not isinstance(data.get("v"), int)
        ):
            raise TokenError("That sign-in token is not valid; please sign in again.")
        return TokenClaims(data["u"], data["v"])

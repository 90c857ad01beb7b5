"""Accounts: sign up, sign in, sign out, change password, export and delete, over the feedback store.

A user name is NFKC-normalised and case-folded, 3 to 32 letters, digits, ``.``, ``_`` or ``-``. A
``users`` row without credentials is a name-only profile from before accounts: sign-up refuses its name,
sign-in fails, and only :meth:`Accounts.claim` (``reelchat users claim NAME``) gives it a password.
Every method that acts on a user's data takes a token, never a name.
"""

from __future__ import annotations

import logging
import unicodedata
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from agent.settings import Limits, Settings
from agent.store.models import credentials, users, utcnow
from agent.store.passwords import Hasher, PasswordRejected, check_policy
from agent.store.repository import FeedbackStore, StoreError
from agent.store.throttle import SignInThrottle, ThrottleRule, wait_message
from agent.store.tokens import TokenError, TokenSigner, load_secret_key

log = logging.getLogger(__name__)

NAME_MIN, NAME_MAX = 3, 32
WRONG = "Wrong user name or password."
SIGNED_OUT = "Your sign-in is no longer valid (signed out or password changed); please sign in again."


class AuthError(Exception):
    """An account action was refused; ``str()`` is one line for the user."""


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A successful sign-in: the user id and a fresh token for it."""

    user_id: str
    token: str


def normalise_name(name: object) -> str:
    """The user id for a typed name (NFKC, case-folded, trimmed); ``""`` when it is not a usable name."""
    text = unicodedata.normalize("NFKC", name if isinstance(name, str) else "").casefold().strip()
    ok = NAME_MIN <= len(text) <= NAME_MAX and all(ch.isalnum() or ch in "._-" for ch in text)
    return text if ok else ""


def lookup_name(name: object) -> str:
    """The id to look a typed name up by: :func:`normalise_name`, else the pre-accounts form (for claimed
    name-only profiles, whose ids may hold spaces or apostrophes)."""
    text = unicodedata.normalize("NFKC", name if isinstance(name, str) else "").casefold()
    return normalise_name(text) or " ".join(text.split())[:128]


def throttle_for(limits: Limits) -> SignInThrottle:
    """The sign-in throttle configured by ``limits``."""
    rules = (
        ThrottleRule("account+address", limits.sign_in_failures),
        ThrottleRule("address", limits.sign_in_failures_per_address),
        ThrottleRule("account", limits.sign_in_failures_per_account),
    )
    return SignInThrottle(rules, limits.sign_in_backoff_max_s)


class Accounts:
    """The account service; thread-safe. Build it with :meth:`from_settings` in applications."""

    def __init__(
        self,
        store: FeedbackStore,
        signer: TokenSigner,
        throttle: SignInThrottle,
        hasher: Hasher | None = None,
    ) -> None:
        self.store = store
        self.signer = signer
        self.throttle = throttle
        self.hasher = hasher or Hasher()

    @classmethod
    def from_settings(cls, store: FeedbackStore, settings: Settings) -> Accounts:
        """Accounts over ``store`` with the settings' signing key (or the cache dir's) and limits."""
        configured = settings.secret_key.get_secret_value() if settings.secret_key else None
        key = load_secret_key(configured, settings.cache_dir)
        signer = TokenSigner(key, settings.limits.token_max_age_s)
        return cls(store, signer, throttle_for(settings.limits))

    # -- credentials ---------------------------------------------------------------------------------
    def _credential(self, conn: Connection, user_id: str) -> tuple[str, int] | None:
        row = conn.execute(
            select(credentials.c.password_hash, credentials.c.token_version).where(
                credentials.c.user_id == user_id
            )
        ).first()
        return (str(row[0]), int(row[1])) if row is not None else None

    def status(self, name: object) -> str:
        """``account``, ``name-only`` (a profile from before accounts) or ``none`` for a name."""
        user_id = lookup_name(name)
        with self.store.transaction("account status") as conn:
            if self._credential(conn, user_id) is not None:
                return "account"
            found = conn.execute(select(users.c.id).where(users.c.id == user_id)).first()
            return "name-only" if found is not None else "none"

    def sign_up(self, name: object, password: object) -> SignedIn:
        """Create an account and sign it in; :class:`AuthError` for a bad or taken name or password."""
        user_id = normalise_name(name)
        if not user_id:
            raise AuthError(f"Choose a user name of {NAME_MIN}-{NAME_MAX} letters, digits, '.', '_' or '-'.")
        try:
            encoded = self.hasher.hash(check_policy(password, user_id))
        except PasswordRejected as err:
            raise AuthError(str(err)) from None
        now = utcnow()
        try:
            with self.store.transaction("sign_up") as conn:
                if conn.execute(select(users.c.id).where(users.c.id == user_id)).first() is not None:
                    raise AuthError("That user name is taken; choose another or sign in.")
                conn.execute(insert(users).values(id=user_id, created_at=now))
                conn.execute(
                    insert(credentials).values(
                        user_id=user_id,
                        password_hash=encoded,
                        token_version=0,
                        created_at=now,
                        changed_at=now,
                    )
                )
        except StoreError as err:
            if isinstance(err.__cause__, IntegrityError):
                raise AuthError("That user name is taken; choose another or sign in.") from None
            raise
        log.info("account created: %s", user_id)
        return SignedIn(user_id, self.signer.issue(user_id, 0))

    def sign_in(self, name: object, password: object, client: str = "") -> SignedIn:
        """Check the password (throttled per account and ``client`` address); a fresh token on success."""
        user_id = lookup_name(name)
        key = user_id or "\x00empty"
        wait = self.throttle.wait_s(key, client)
        if wait > 0:
            raise AuthError(wait_message(wait))
        with self.store.transaction("sign_in") as conn:
            found = self._credential(conn, user_id) if user_id else None
        if not self.hasher.verify(found[0] if found else None, password if isinstance(password, str) else ""):
            self.throttle.failed(key, client)
            log.info("failed sign-in for %r from %s", user_id or "<invalid name>", client or "?")
            raise AuthError(WRONG)
        assert found is not None
        self.throttle.succeeded(key, client)
        return SignedIn(user_id, self.signer.issue(user_id, found[1]))

    def authenticate(self, token: object) -> str:
        """The user id of a valid, current token; else :class:`AuthError` saying why."""
        try:
            claims = self.signer.read(token)
        except TokenError as err:
            raise AuthError(str(err)) from None
        with self.store.transaction("authenticate") as conn:
            found = self._credential(conn, claims.user_id)
        if found is None or found[1] != claims.version:
            raise AuthError(SIGNED_OUT)
        return claims.user_id

    def _bump(self, conn: Connection, user_id: str, **values: Any) -> int:
        current = self._credential(conn, user_id)
        if current is None:
            raise AuthError(SIGNED_OUT)
        version = current[1] + 1
        conn.execute(
            update(credentials)
            .where(credentials.c.user_id == user_id)
            .values(token_version=version, changed_at=utcnow(), **values)
        )
        return version

    def sign_out(self, token: object) -> str:
        """End every sign-in of the token's user (all their tokens stop working); returns the user id."""
        user_id = self.authenticate(token)
        with self.store.transaction("sign_out") as conn:
            self._bump(conn, user_id)
        return user_id

    def change_password(self, token: object, old: object, new: object) -> SignedIn:
        """Replace the password (the old one must match); older tokens stop working; a fresh token."""
        user_id = self.authenticate(token)
        with self.store.transaction("change_password") as conn:
            found = self._credential(conn, user_id)
        if found is None or not self.hasher.verify(found[0], old if isinstance(old, str) else ""):
            raise AuthError("Your current password is not right.")
        try:
            encoded = self.hasher.hash(check_policy(new, user_id))
        except PasswordRejected as err:
            raise AuthError(str(err)) from None
        with self.store.transaction("change_password") as conn:
            version = self._bump(conn, user_id, password_hash=encoded)
        return SignedIn(user_id, self.signer.issue(user_id, version))

    def claim(self, name: str, password: object) -> None:
        """Operator only: give an existing name-only profile a password (``reelchat users claim``)."""
        user_id = lookup_name(name)
        try:
            encoded = self.hasher.hash(check_policy(password, user_id))
        except PasswordRejected as err:
            raise AuthError(str(err)) from None
        now = utcnow()
        with self.store.transaction("claim") as conn:
            if conn.execute(select(users.c.id).where(users.c.id == user_id)).first() is None:
                raise AuthError(f"No saved profile is named {user_id!r}.")
            if self._credential(conn, user_id) is not None:
                raise AuthError(f"{user_id!r} already has an account; it signs in with its own password.")
            conn.execute(
                insert(credentials).values(
                    user_id=user_id, password_hash=encoded, token_version=0, created_at=now, changed_at=now
                )
            )

    def export(self, token: object) -> dict[str, Any]:
        """Everything stored about the token's user (never the password hash), JSON-ready."""
        user_id = self.authenticate(token)
        return {"user_id": user_id, **self.store.export_user(user_id)}

    def delete(self, token: object) -> dict[str, int]:
        """Delete the token's user and every row about them; returns how many rows each table had."""
        user_id = self.authenticate(token)
        counts = self.store.count_user_rows(user_id)
        self.store.forget_user(user_id)
        return counts

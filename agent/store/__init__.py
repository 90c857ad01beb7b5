"""Durable feedback store: users, accounts, sessions, messages and feedback events (SQLite or PostgreSQL)."""

from agent.store.accounts import Accounts, AuthError, SignedIn, normalise_name
from agent.store.repository import (
    FeedbackEvent,
    FeedbackStore,
    StoreError,
    UserProfile,
    default_db_url,
    migrate,
)

__all__ = [
    "Accounts",
    "AuthError",
    "FeedbackEvent",
    "FeedbackStore",
    "SignedIn",
    "StoreError",
    "UserProfile",
    "default_db_url",
    "migrate",
    "normalise_name",
]

"""Durable feedback store: users, sessions, messages and feedback events (SQLite or PostgreSQL)."""

from agent.store.repository import (
    FeedbackEvent,
    FeedbackStore,
    StoreError,
    UserProfile,
    default_db_url,
    migrate,
)

__all__ = ["FeedbackEvent", "FeedbackStore", "StoreError", "UserProfile", "default_db_url", "migrate"]

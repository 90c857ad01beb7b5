"""Alembic migrations of the feedback store; run by :meth:`agent.store.FeedbackStore.open`."""

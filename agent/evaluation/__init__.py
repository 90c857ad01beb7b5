"""Evaluation: scripted conversations, ReDial replay, simulated users and their reports."""

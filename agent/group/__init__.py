"""Group recommendation: several viewers in one conversation, one list that suits them all."""

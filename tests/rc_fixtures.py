"""Rocket.Chat-side fixtures (simulator, bot process)."""

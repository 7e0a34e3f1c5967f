"""Salesforce-side fixtures (simulator, keys)."""

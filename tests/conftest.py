"""Shared pytest set-up: fixtures live in one module per area, registered here."""

pytest_plugins = ["sf_fixtures", "rc_fixtures", "bot_fixtures", "plugin_fixtures", "pg_fixtures"]

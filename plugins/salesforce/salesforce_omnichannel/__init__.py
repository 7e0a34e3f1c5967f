"""The Salesforce plugin's helpers, in one package whose name no other plugin will take (Errbot puts
every plugin folder on `sys.path`): `crm` is the Salesforce core (JWT auth, client, CRM operations,
metadata), `chat` the chat side (commands, greeting, closure, state store, chat watch), `ops` the
probes and metrics served on HEALTH_PORT. `crm` never imports `chat`; `ops` imports neither."""

__version__ = "1.0.0"  # pyproject.toml's version (a test keeps the two equal); `rcsf_build_info` shows it

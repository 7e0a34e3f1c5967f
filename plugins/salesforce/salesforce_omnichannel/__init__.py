"""The Salesforce plugin's helpers, in one package whose name no other plugin will take (Errbot puts
every plugin folder on `sys.path`): `crm` is the Salesforce core (JWT auth, client, CRM operations,
metadata), `chat` the chat side (commands, greeting, closure, state store, chat watch). `crm`
never imports `chat`."""

__version__ = "1.0.0"  # pyproject.toml's version (a test keeps the two equal); `rcsf_build_info` shows it

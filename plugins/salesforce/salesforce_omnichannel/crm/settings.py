"""What the CRM core needs to know, taken from the plugin's configuration."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SalesforceSettings:
    consumer_key: str
    username: str
    auth_url: str = "https://login.salesforce.com/services/oauth2/token"
    audience: str = "https://login.salesforce.com"
    private_key_file: str = ""
    session_timeout_minutes: int = 120
    metadata_refresh_minutes: int = 30
    api_version: str = "59.0"
    ca_bundle: str = ""
    timeout_seconds: float = 20.0
    case_assignment_rules: bool = False  # False: cases the bot creates say `Sforce-Auto-Assign: FALSE`
    allow_duplicates: bool = False  # True: contacts are saved over the org's duplicate rules (allowSave)
    new_contact_account: str = ""  # an Account Id or exact Name new contacts are attached to
    new_visitors_as: str = ""  # contact | person-account | lead; "": person-account where the org has them
    # who owns the records made for a chat (crm/owners.py): "agent" (the serving agent's user) or "integration"
    owner: str = "agent"
    # AGENT_USERS: (Rocket.Chat username, Salesforce username or User Id) pairs, sorted: hashable, comparable
    agent_users: tuple[tuple[str, str], ...] = ()
    fallback_owner: str = ""  # a User Id (005…) or Queue Id (00G…); "" is the integration user
    # RECORD_TYPES: (object, record type DeveloperName) pairs, sorted (crm/recordtypes.py)
    record_types: tuple[tuple[str, str], ...] = ()
    # FIELD_MAP: ("Object.Field", source) pairs, sorted (crm/fieldmap.py, chat/fieldmap.py)
    field_map: tuple[tuple[str, str], ...] = ()

    def __repr__(self) -> str:  # the key file path is not secret, but keep reprs short and boring
        return f"SalesforceSettings(username={self.username!r}, auth_url={self.auth_url!r}, api_version={self.api_version!r})"

    @property
    def key_path(self) -> str:
        return self.private_key_file or os.environ.get("SALESFORCE_PRIVATE_KEY_FILE", "")

    @property
    def verify(self) -> bool | str:
        """requests' `verify`: the configured CA bundle, else the system's."""
        return self.ca_bundle or True

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> SalesforceSettings:
        return cls(
            consumer_key=str(config.get("CONSUMER_KEY") or ""),
            username=str(config.get("USERNAME") or ""),
            auth_url=str(config.get("AUTH_URL") or cls.auth_url),
            audience=str(config.get("AUDIENCE") or cls.audience),
            private_key_file=str(config.get("PRIVATE_KEY_FILE") or ""),
            session_timeout_minutes=int(config.get("SESSION_TIMEOUT_MINUTES") or 120),
            metadata_refresh_minutes=int(config.get("METADATA_REFRESH_MINUTES") or 30),
            api_version=str(config.get("API_VERSION") or "59.0"),
            ca_bundle=str(config.get("CA_BUNDLE") or ""),
            timeout_seconds=float(config.get("REQUEST_TIMEOUT_SECONDS") or 20),
            case_assignment_rules=bool(config.get("CASE_ASSIGNMENT_RULES", False)),
            allow_duplicates=bool(config.get("ALLOW_DUPLICATES", False)),
            new_contact_account=str(config.get("NEW_CONTACT_ACCOUNT") or ""),
            new_visitors_as=str(config.get("NEW_VISITORS_AS") or ""),
            owner=str(config.get("OWNER") or "agent").lower(),
            agent_users=_pairs(config.get("AGENT_USERS")),
            fallback_owner=str(config.get("FALLBACK_OWNER") or ""),
            record_types=_pairs(config.get("RECORD_TYPES")),
            field_map=_pairs(config.get("FIELD_MAP")),
        )

    @property
    def agent_user_map(self) -> dict[str, str]:
        """AGENT_USERS as a dict (Rocket.Chat username -> Salesforce username or User Id)."""
        return dict(self.agent_users)

    @property
    def record_type_map(self) -> dict[str, str]:
        """RECORD_TYPES as a dict (object -> record type DeveloperName)."""
        return dict(self.record_types)

    @property
    def field_map_dict(self) -> dict[str, str]:
        """FIELD_MAP as a dict ("Object.Field" -> source)."""
        return dict(self.field_map)


def _pairs(value: Any) -> tuple[tuple[str, str], ...]:
    """A validated dictionary setting (AGENT_USERS, RECORD_TYPES, FIELD_MAP) as sorted pairs; anything else (not
    configured) is none."""
    if not isinstance(value, Mapping):
        return ()
    return tuple(sorted((str(k), str(v)) for k, v in value.items()))

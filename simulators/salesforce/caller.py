"""Who makes a request and which request headers shape its saves.

- `Sforce-Duplicate-Rule-Header: allowSave=true; includeRecordDetails=true; runAsCurrentUser=true`
  (REST API Developer Guide, "Duplicate Rule Header", api_rest/headers_duplicaterules.htm: v52.0+,
  every field defaults to false).
- `Sforce-Auto-Assign: FALSE` ("Assignment Rule Header", api_rest/headers_autoassign.htm: TRUE and
  FALSE are not case-sensitive; without the header REST applies the active assignment rules).
A composite subrequest takes these from its own `httpHeaders`: subrequests inherit only Accept,
Authorization and Content-Type from the top-level request (REST API Developer Guide, "Composite
Subrequest").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

DUPLICATE_RULE_HEADER = "Sforce-Duplicate-Rule-Header"
AUTO_ASSIGN_HEADER = "Sforce-Auto-Assign"


@dataclass(frozen=True)
class Caller:
    user_id: str
    integration: bool  # the integration user: View All Data, and the field security of `field-access`
    version: str
    allow_save: bool = False
    include_record_details: bool = False
    run_as_current_user: bool = False
    auto_assign: bool = True

    def with_headers(self, headers: Mapping[str, str]) -> Caller:
        """This caller with the save options HEADERS (any case of names) ask for."""
        lowered = {str(k).lower(): str(v) for k, v in headers.items()}
        options = duplicate_options(lowered.get(DUPLICATE_RULE_HEADER.lower(), ""))
        return Caller(
            self.user_id,
            self.integration,
            self.version,
            options.get("allowsave", False),
            options.get("includerecorddetails", False),
            options.get("runascurrentuser", False),
            lowered.get(AUTO_ASSIGN_HEADER.lower(), "TRUE").strip().upper() != "FALSE",
        )


def duplicate_options(value: str) -> dict[str, bool]:
    """`allowSave=true; includeRecordDetails=false` -> {"allowsave": True, "includerecorddetails": False}."""
    out: dict[str, bool] = {}
    for part in value.replace(",", ";").split(";"):
        name, _, flag = part.partition("=")
        if name.strip():
            out[name.strip().lower()] = flag.strip().lower() == "true"
    return out

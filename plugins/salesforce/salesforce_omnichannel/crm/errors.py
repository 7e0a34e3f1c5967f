"""Typed CRM errors: `.message` is one sentence for people, `.admin_detail` what the log and
`status` get. Neither ever holds the key, a token, or Salesforce's raw exception text (it
carries URLs, queries and email addresses)."""

from __future__ import annotations


class CrmError(Exception):
    retryable = False
    ref: str | None = None  # the composite subrequest that failed ("contact", "task"), when there was one

    def __init__(self, message: str, code: str = "", admin_detail: str = ""):
        super().__init__(message)
        self.message = message
        self.code = code
        self.admin_detail = admin_detail or (f"{code}: {message}" if code else message)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r})"


class CrmConfigError(CrmError):
    """The plugin is not configured well enough to reach Salesforce."""


class CrmAuthError(CrmError):
    """Salesforce refused the JWT bearer grant: an admin must fix a setting."""


class CrmUnavailable(CrmError):
    """Salesforce could not be reached or answered 5xx: worth retrying later."""

    retryable = True


class CrmLimitExceeded(CrmError):
    """The org's daily API allocation is used up: retry tomorrow, tell the admin now."""

    retryable = True


class CrmNotFound(CrmError):
    """The record asked for does not exist."""


class CrmValidationError(CrmError):
    """Salesforce (or our picklist check) refused the values: the person must change them."""

    def __init__(self, message: str, code: str = "", admin_detail: str = "", fields: list[str] | None = None):
        super().__init__(message, code, admin_detail)
        self.fields = fields or []
        self.duplicates: list[tuple[str, str]] = []  # DUPLICATES_DETECTED: (object, Id) of the matching records


def owner_refused(exc: CrmError) -> bool:
    """Salesforce refused a record's OwnerId (ask only about a write that set one): an inactive user, one
    that cannot own that object, or one the integration user may not give records to (without *Transfer
    Record*, Salesforce answers INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY naming no field)."""
    return exc.code in ("INACTIVE_OWNER_OR_USER", "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY") or (
        exc.code in ("FIELD_INTEGRITY_EXCEPTION", "INVALID_CROSS_REFERENCE_KEY")
        and "OwnerId" in getattr(exc, "fields", [])
    )

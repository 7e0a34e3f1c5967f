"""`!salesforce check`: what will and will not work in this org, before the first chat. Each finding is
✓ (works), ⚠ (works, but the admin should know) or ✗ (will fail, with the fix). Only reads: describes
(cached), the identity, the owner directory's one User query, the Account named by NEW_CONTACT_ACCOUNT;
it never writes to the org."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ..crm.errors import CrmError
from ..crm.fieldmap import FieldMapOrg, mapped_fields
from ..crm.operations import CASE_SELECT, CONTACT_SELECT, LEAD_SELECT, Crm
from .budget import FREE_CALLS, ApiBudget, percent, usage_text

OK, WARN, FAIL = "✓", "⚠", "✗"

# what the bot reads (the cards leave out what it may not) and what it cannot work without
# (IsPersonAccount exists only in orgs with person accounts: not the integration user's to be granted)
READS = {
    "Contact": tuple(f for f in CONTACT_SELECT if f != "IsPersonAccount"),
    "Case": CASE_SELECT,
    "Lead": LEAD_SELECT,
}
NEEDED_READS = {"Contact": ("Email", "LastName"), "Task": ("Subject", "WhoId")}
FILTERED = {"Task": ("Subject",)}  # looked up with WHERE: must be filterable
SEARCHED = {"Contact": ("Email",), "Lead": ("Email",)}  # WHERE when filterable, else SOSL (Shield encryption)
# what the bot creates, field by field: the first ones of each object it cannot work without
WRITES = {
    "Contact": (("LastName",), ("FirstName", "Email", "Phone", "LeadSource", "AccountId", "OwnerId")),
    "Case": (("Subject", "ContactId"), ("Description", "Status", "Priority", "Origin", "Type", "Reason", "OwnerId")),
    "Task": (("Subject", "Description", "Status", "WhoId"), ("WhatId", "ActivityDate", "Priority", "OwnerId")),
}


@dataclass(frozen=True)
class Finding:
    mark: str  # OK, WARN or FAIL
    text: str
    fix: str = ""

    @property
    def problem(self) -> bool:
        return self.mark != OK

    def line(self) -> str:
        return f"{self.mark} {self.text}" + (f" Fix: {self.fix}" if self.fix else "")


def run_check(
    crm: Crm, agents: Callable[[], Iterable[Any]] | None, more: Iterable[Callable[[Crm], list[Finding]]] = ()
) -> list[Finding]:
    """Every finding, in the order an admin fixes them; a step Salesforce fails says so and the rest run.
    AGENTS lists the Omnichannel agents (None without Omnichannel); MORE are further steps."""
    found = _access(crm)
    if found[0].mark == FAIL:
        return found  # without the API nothing else can be asked
    steps = (
        _fields,
        _record_types,
        _field_map,
        _new_contacts,
        _cases,
        lambda c: _owners(c, agents),
        _person_accounts,
        *more,
    )
    for step in steps:
        try:
            found += step(crm)
        except CrmError as exc:
            found.append(Finding(FAIL, f"Salesforce could not be asked ({exc.code or 'error'}): {exc.message}"))
    return found


def render(findings: list[Finding]) -> str:
    problems = sum(1 for f in findings if f.mark == FAIL)
    warnings = sum(1 for f in findings if f.mark == WARN)
    head = (
        "**Salesforce setup check**: everything the bot needs works."
        if not problems and not warnings
        else f"**Salesforce setup check**: {problems} problem(s), {warnings} warning(s)."
    )
    return "\n".join([head, *(f"- {f.line()}" for f in findings)])


# -- the steps ------------------------------------------------------------------------------
def _access(crm: Crm) -> list[Finding]:
    try:
        who = crm.client.identity()
        crm.metadata.describe("Contact")
    except CrmError as exc:
        if exc.code == "API_DISABLED_FOR_ORG":
            return [
                Finding(
                    FAIL,
                    "This org does not allow API access (API_DISABLED_FOR_ORG).",
                    "Professional Edition needs the API add-on; the integration user's profile or permission set "
                    "needs *API Enabled*.",
                )
            ]
        return [Finding(FAIL, f"Salesforce refused the integration user: {exc.message}")]
    name = who.get("username") or crm.settings.username
    return [Finding(OK, f"Signed in as {name} with the JWT bearer flow; the REST API answers.")]


def _fields(crm: Crm) -> list[Finding]:
    found: list[Finding] = []
    for sobject in ("Contact", "Case", "Lead", "Task"):
        fields = {f["name"]: f for f in crm.metadata.describe(sobject)["fields"]}
        hidden_needed = [n for n in NEEDED_READS.get(sobject, ()) if n not in fields]
        unfilterable = [n for n in FILTERED.get(sobject, ()) if n in fields and not fields[n].get("filterable")]
        hidden = [n for n in READS.get(sobject, ()) if "." not in n and n not in fields and n not in hidden_needed]
        needed, wanted = WRITES.get(sobject, ((), ()))
        cannot = [n for n in needed if not fields.get(n, {}).get("createable")]
        may_not = [n for n in wanted if not fields.get(n, {}).get("createable")]
        if hidden_needed or cannot:
            names = ", ".join(dict.fromkeys(hidden_needed + cannot))
            found.append(
                Finding(
                    FAIL,
                    f"{sobject}: the integration user cannot read or create {names}, which the bot needs.",
                    f"give its permission set read and edit access to {sobject} {names}.",
                )
            )
        if unfilterable:
            found.append(
                Finding(
                    FAIL,
                    f"{sobject}.{', '.join(unfilterable)} cannot be searched (encrypted or not filterable).",
                    "use deterministic encryption for it, or leave it unencrypted.",
                )
            )
        encrypted = [n for n in SEARCHED.get(sobject, ()) if n in fields and not fields[n].get("filterable", True)]
        if encrypted:
            found.append(
                Finding(
                    WARN,
                    f"{sobject}.{', '.join(encrypted)} cannot be filtered (Shield Platform Encryption, probabilistic): "
                    "the bot finds visitors by search instead, which Salesforce indexes minutes after a record changes.",
                    "deterministic encryption would let the bot look emails up at once.",
                )
            )
        if hidden:
            found.append(
                Finding(
                    WARN,
                    f"{sobject}: cannot read {', '.join(hidden)}; cards leave them out.",
                    f"grant read access to {sobject} {', '.join(hidden)} if agents should see them.",
                )
            )
        if may_not:
            found.append(
                Finding(
                    WARN,
                    f"{sobject}: cannot write {', '.join(may_not)}; the bot leaves them out of what it creates.",
                    f"grant edit access to {sobject} {', '.join(may_not)}.",
                )
            )
        if not (hidden_needed or cannot or unfilterable or encrypted or hidden or may_not):
            found.append(Finding(OK, f"{sobject}: every field the bot reads and writes is accessible."))
    return found


def _record_types(crm: Crm) -> list[Finding]:
    found = [Finding(FAIL, problem) for problem in crm.record_types.problems()]
    found += [Finding(WARN, advice) for advice in crm.record_types.advice()]
    in_use = [crm.record_types.in_use(sobject) for sobject in ("Contact", "Case")]
    found += [
        Finding(OK, f"{rt.sobject} records get the record type {rt.developer_name}; its picklist values are offered.")
        for rt in in_use
        if rt is not None and rt.configured and not found
    ]
    return found


def _field_map(crm: Crm) -> list[Finding]:
    """FIELD_MAP's entries the org refuses, and each required field of what the bot creates that nothing
    fills (the create would fail with REQUIRED_FIELD_MISSING)."""
    field_map = crm.settings.field_map_dict
    org = FieldMapOrg.of(crm)
    found = [Finding(FAIL, problem) for problem in org.problems(field_map)]
    for sobject in ("Contact", "Case", "Task"):
        found += [Finding(FAIL, line) for line in org.required_unfilled(sobject, mapped_fields(field_map, sobject))]
    if not found:
        found.append(
            Finding(
                OK,
                f"Every required field is filled ({len(field_map)} FIELD_MAP entr{'y' if len(field_map) == 1 else 'ies'}).",
            )
        )
    return found


def _new_contacts(crm: Crm) -> list[Finding]:
    wanted = crm.settings.new_contact_account.strip()
    if not wanted:
        return [
            Finding(
                WARN,
                "New contacts get no Account, so only their owner and Salesforce admins can see them.",
                "set NEW_CONTACT_ACCOUNT to an Account (Id or exact Name), e.g. 'Web Visitors'.",
            )
        ]
    if crm.default_account_id() is None:
        return [
            Finding(
                FAIL,
                f"NEW_CONTACT_ACCOUNT names {wanted!r}, which is not exactly one Account the integration user can see.",
                "give the Account's Id, or its exact and unique Name.",
            )
        ]
    return [Finding(OK, f"New contacts go to the Account {wanted}, where the agents can see them.")]


def _cases(crm: Crm) -> list[Finding]:
    if crm.settings.case_assignment_rules:
        return [
            Finding(WARN, "CASE_ASSIGNMENT_RULES is on: the org's assignment rule may move the cases agents create.")
        ]
    return [Finding(OK, "Cases the bot creates stay with their owner (Sforce-Auto-Assign: FALSE).")]


def _owners(crm: Crm, agents: Callable[[], Iterable[Any]] | None) -> list[Finding]:
    owners = crm.owners
    if owners.owner == "integration":
        return [Finding(WARN, "OWNER=integration: every record is owned by the integration user.")]
    found = [Finding(FAIL, problem) for problem in owners.fallback_problems()]
    listed = list(agents()) if agents is not None else []
    if not listed:
        found.append(
            Finding(WARN, "No Omnichannel agent could be listed, so none could be matched to a Salesforce user.")
        )
    for explanation in owners.explain(listed):
        matched = explanation.match.user is not None and explanation.match.matched_by
        found.append(
            Finding(OK, str(explanation))
            if matched
            else Finding(WARN, str(explanation), "add the agent to AGENT_USERS or give the user the agent's email.")
        )
    return found


def usage_finding(crm: Crm, budget: ApiBudget) -> Finding:
    """The org's API usage against API_WARN_PERCENT and API_BUDGET_PERCENT (one call to read it when no
    response has said it yet)."""
    usage = budget.usage
    if usage is None:
        try:
            usage = crm.client.read_usage()
        except CrmError as exc:
            return Finding(WARN, f"The org's API usage could not be read: {exc.message}")
        if usage is not None:
            budget.observe(*usage)
    if usage is None:
        return Finding(WARN, "Salesforce did not say the org's API usage (no Sforce-Limit-Info header).")
    used, limit = usage
    pct = percent(used, limit)
    lines = (
        f"warning at {budget.warn_percent}% (API_WARN_PERCENT), budget {budget.budget_percent}% (API_BUDGET_PERCENT)"
    )
    if pct >= budget.budget_percent:
        return Finding(
            FAIL,
            f"The org has used {usage_text(used, limit)} of its daily API allocation, at or past the budget: the bot "
            f"holds closed chats and greets without a Salesforce look-up until usage falls ({lines}).",
            f"{FREE_CALLS}; or raise API_BUDGET_PERCENT.",
        )
    if pct >= budget.warn_percent:
        return Finding(
            WARN,
            f"The org has used {usage_text(used, limit)} of its daily API allocation, past the warning line ({lines}).",
            f"{FREE_CALLS}.",
        )
    return Finding(OK, f"The org has used {usage_text(used, limit)} of its daily API allocation ({lines}).")


def _person_accounts(crm: Crm) -> list[Finding]:
    """What a new visitor becomes (NEW_VISITORS_AS), and whether the org agrees."""
    mode, has = crm.new_visitors_as(), crm.has_person_accounts()
    if mode == "person-account" and not has:
        return [
            Finding(
                FAIL,
                "NEW_VISITORS_AS is person-account, but this org has no person accounts.",
                "set NEW_VISITORS_AS to contact or lead.",
            )
        ]
    if mode == "lead":
        return [Finding(OK, "New visitors become Leads, with the transcript on the Lead (NEW_VISITORS_AS=lead).")]
    if has and mode == "contact":
        return [
            Finding(
                WARN,
                "This org has person accounts, but NEW_VISITORS_AS=contact: new visitors become business Contacts.",
                "empty NEW_VISITORS_AS (or person-account) makes them person accounts.",
            )
        ]
    if has:
        return [Finding(OK, "This org has person accounts: new visitors become person accounts.")]
    return [Finding(OK, "No person accounts in this org: new visitors become Contacts.")]

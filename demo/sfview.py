"""What the Salesforce simulator holds for a visitor, read through its `/_sim/records` control.

The control is not the Salesforce API (it never counts as an API call and needs no token): the
demo uses it to show, independently of the bot, what really got saved.
"""

from __future__ import annotations

import time

import requests

MAX_DESCRIPTION_LINES = 14


def _digits(text: str | None) -> str:
    return "".join(ch for ch in text or "" if ch.isdigit())


class SalesforceView:
    def __init__(self, url: str, ca_cert: str):
        self.url = url.rstrip("/")
        self.http = requests.Session()
        self.http.trust_env = False
        self.http.verify = ca_cert

    def records(self, sobject: str) -> list[dict]:
        resp = self.http.get(f"{self.url}/_sim/records/{sobject}", timeout=10)
        resp.raise_for_status()
        return resp.json()["records"]

    def snapshot(self, email: str | None, phone: str | None = None) -> dict[str, list[dict]]:
        """Contacts matching the email (any case) or the phone's digits, with their cases and tasks."""
        wanted_phone = _digits(phone)[-9:]
        contacts = [
            c
            for c in self.records("Contact")
            if (email and (c.get("Email") or "").lower() == email.lower())
            or (wanted_phone and len(wanted_phone) >= 7 and _digits(c.get("Phone")).endswith(wanted_phone))
        ]
        ids = {c["Id"] for c in contacts}
        leads = [r for r in self.records("Lead") if email and (r.get("Email") or "").lower() == email.lower()]
        cases = [c for c in self.records("Case") if c.get("ContactId") in ids]
        tasks = [t for t in self.records("Task") if t.get("WhoId") in ids]
        by_date = lambda r: r.get("CreatedDate") or ""  # noqa: E731
        return {
            "contacts": contacts,
            "leads": leads,
            "cases": sorted(cases, key=by_date),
            "tasks": sorted(tasks, key=by_date),
        }

    def wait_for_new_task(self, email: str | None, phone: str | None, before: dict, timeout: float) -> bool:
        """True once a task (a logged transcript) appears that was not there BEFORE."""
        known = {t["Id"] for t in before["tasks"]}
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(t["Id"] not in known for t in self.snapshot(email, phone)["tasks"]):
                return True
            time.sleep(0.5)
        return False

    def describe(self, email: str | None, phone: str | None = None, before: dict | None = None) -> list[str]:
        """Readable lines; records created or changed since BEFORE are marked NEW or UPDATED."""
        snap = self.snapshot(email, phone)
        old = {r["Id"]: r.get("LastModifiedDate") for kind in (before or {}).values() for r in kind}

        def new(record: dict) -> str:
            if before is None:
                return ""
            if record["Id"] not in old:
                return "  [NEW]"
            return "  [UPDATED]" if old[record["Id"]] != record.get("LastModifiedDate") else ""

        who = " / ".join(x for x in (email, phone) if x) or "?"
        lines = [f"Salesforce (simulator) holds for {who}:"]
        if not snap["contacts"]:
            lines.append("  no Contact")
        for c in snap["contacts"]:
            name = " ".join(p for p in (c.get("FirstName"), c.get("LastName")) if p)
            lines.append(
                f"  Contact {c['Id']}: {name}, {c.get('Email') or 'no email'}, {c.get('Phone') or 'no phone'}"
                f" (created {c.get('CreatedDate')}, modified {c.get('LastModifiedDate')}){new(c)}"
            )
        for lead in snap["leads"]:
            lines.append(
                f"  Lead {lead['Id']}: {lead.get('FirstName') or ''} {lead.get('LastName')}, {lead.get('Company')}{new(lead)}"
            )
        for case in snap["cases"]:
            lines.append(
                f"  Case {case.get('CaseNumber')} [{case.get('Status')}, {case.get('Priority')}] {case.get('Subject')}{new(case)}"
            )
        for task in snap["tasks"]:
            lines.append(
                f"  Task {task['Id']} [{task.get('Status')}] {task.get('Subject')} (created {task.get('CreatedDate')}){new(task)}"
            )
            description = (task.get("Description") or "").splitlines()
            for line in description[:MAX_DESCRIPTION_LINES]:
                lines.append(f"      {line}")
            if len(description) > MAX_DESCRIPTION_LINES:
                lines.append(f"      ... ({len(description) - MAX_DESCRIPTION_LINES} more lines)")
        return lines

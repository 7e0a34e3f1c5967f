"""`POST /services/data/vNN.N/composite`: up to 25 subrequests in one call, chained through
`@{referenceId.field}`, answered 200 with one `compositeResponse` entry per subrequest. With
`allOrNone` a failing subrequest rolls back the ones before it; every other entry then reports
400 PROCESSING_HALTED, as Salesforce does. The series counts as one API call. Subrequests run as
the caller, through the org's profiles (saving.Writer); each one's save options (duplicate rule,
assignment rule headers) come from its own `httpHeaders` ("Composite Subrequest": only Accept,
Authorization and Content-Type are inherited from the top-level request).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from simulators.salesforce.caller import Caller
from simulators.salesforce.saving import Writer
from simulators.salesforce.store import SfError, Store

MAX_SUBREQUESTS = 25
HALTED = [
    {
        "errorCode": "PROCESSING_HALTED",
        "message": "The transaction was rolled back since another operation in the same transaction failed.",
    }
]
_REF = re.compile(r"^[A-Za-z0-9_]+$")
_URL = re.compile(r"^/services/data/v(\d+\.\d)/sobjects/(\w+)(?:/([A-Za-z0-9]+))?/?$")
_CHAIN = re.compile(r"@\{([A-Za-z0-9_]+)\.([A-Za-z0-9_]+)\}")


WriterFor = Callable[[dict], Writer]  # a subrequest's httpHeaders -> the writer it saves with


def run(store: Store, body: Any, writer_for: WriterFor | None = None) -> dict:
    """The composite answer; WRITER_FOR (default: the integration user in a plain org) saves."""
    if writer_for is None:

        def writer_for(headers: dict) -> Writer:
            return Writer(store, frozenset(), Caller(store.user_id, True, "59.0").with_headers(headers))

    if not isinstance(body, dict) or not isinstance(body.get("compositeRequest"), list):
        raise SfError(
            400, "JSON_PARSER_ERROR", "Cannot deserialize instance of composite request: compositeRequest is required"
        )
    subrequests = body["compositeRequest"]
    if not 1 <= len(subrequests) <= MAX_SUBREQUESTS:
        raise SfError(400, "INVALID_INPUT", f"The number of subrequests must be between 1 and {MAX_SUBREQUESTS}")
    refs = [s.get("referenceId") if isinstance(s, dict) else None for s in subrequests]
    for ref in refs:
        if not isinstance(ref, str) or not _REF.match(ref):
            raise SfError(
                400,
                "INVALID_INPUT",
                f"Invalid reference id: {ref}. Reference IDs can only contain alphanumeric characters and underscores.",
            )
    if len(set(refs)) != len(refs):
        raise SfError(400, "INVALID_INPUT", "Duplicate reference id in the composite request.")
    all_or_none = bool(body.get("allOrNone"))
    with store.lock:
        # the rows as they were: a rollback puts back what the saves changed, the rows they made alongside
        # (a person account's contact, a note's document and owner link) included
        before = store.snapshot() if all_or_none else None
        done: dict[str, dict] = {}
        out: list[dict] = []
        failed = False
        for sub in subrequests:
            ref = sub["referenceId"]
            if failed and all_or_none:
                out.append({"body": HALTED, "httpHeaders": {}, "httpStatusCode": 400, "referenceId": ref})
                continue
            try:
                status, answer, headers = _one(store, sub, done, writer_for)
            except SfError as err:
                failed = True
                out.append({"body": err.body(), "httpHeaders": {}, "httpStatusCode": err.status, "referenceId": ref})
                continue
            done[ref] = answer or {}
            out.append({"body": answer, "httpHeaders": headers, "httpStatusCode": status, "referenceId": ref})
        if failed and before is not None:
            store.restore(before)
            out = [
                e if e["httpStatusCode"] >= 400 else {**e, "body": HALTED, "httpHeaders": {}, "httpStatusCode": 400}
                for e in out
            ]
    return {"compositeResponse": out}


def _resolve(value: Any, done: dict[str, dict]) -> Any:
    if isinstance(value, str):

        def swap(m: re.Match) -> str:
            if m.group(1) not in done or m.group(2) not in done[m.group(1)]:
                raise SfError(
                    400,
                    "PROCESSING_HALTED",
                    f"Invalid reference specified. No value for {m.group(1)}.{m.group(2)} found in {m.group(1)}.",
                )
            return str(done[m.group(1)][m.group(2)])

        return _CHAIN.sub(swap, value)
    if isinstance(value, dict):
        return {k: _resolve(v, done) for k, v in value.items()}
    return value


def _one(store: Store, sub: dict, done: dict[str, dict], writer_for: WriterFor) -> tuple[int, Any, dict]:
    method = str(sub.get("method") or "").upper()
    m = _URL.match(_resolve(str(sub.get("url") or ""), done))
    if m is None:
        raise SfError(404, "NOT_FOUND", "The requested resource does not exist")
    version, name, record_id = m.groups()
    headers = sub.get("httpHeaders") if isinstance(sub.get("httpHeaders"), dict) else {}
    writer = writer_for(headers)
    writer = Writer(writer.store, writer.profiles, replace(writer.caller, version=version))
    sobject = next((n for n in writer.schema() if n.lower() == name.lower()), None)
    if sobject is None:
        raise SfError(404, "NOT_FOUND", "The requested resource does not exist")
    values = _resolve(sub.get("body") or {}, done)
    if not isinstance(values, dict):
        raise SfError(400, "JSON_PARSER_ERROR", "Cannot deserialize instance of SObject out of START_ARRAY token")
    values = {k: v for k, v in values.items() if k != "attributes"}
    if method == "POST" and record_id is None:
        record = writer.create(sobject, values)
        location = f"/services/data/v{version}/sobjects/{sobject}/{record['Id']}"
        return 201, {"id": record["Id"], "success": True, "errors": []}, {"Location": location}
    if method == "PATCH" and record_id:
        writer.update(sobject, record_id, values)
        return 204, None, {}
    if method == "GET" and record_id:
        return 200, writer.shaped(sobject, writer.get(sobject, record_id)), {}
    raise SfError(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{method}' not allowed. Allowed are HEAD,GET,PATCH,DELETE")

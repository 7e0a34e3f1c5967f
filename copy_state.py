"""Copy the bot's SQLite state into PostgreSQL before moving it onto STATE_URL (stop every bot first):

    STATE_URL=postgresql://rcsf:…@db:5432/rcsf .venv/bin/python copy_state.py data/salesforce-state.sqlite3

The work is `salesforce_omnichannel.chat.statecopy`; this only finds the plugin's package.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "plugins" / "salesforce"))

from salesforce_omnichannel.chat.statecopy import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""The one-command demo: both simulators, the real bot, and a console where you play the agent.

`python -m demo` (or `bash demo.sh` on a fresh machine) starts everything on 127.0.0.1, and
`python -m demo --script FILE` plays a console session from a file without a terminal.
"""

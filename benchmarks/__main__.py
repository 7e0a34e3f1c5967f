"""`python -m benchmarks`: the scale table (benchmarks/scale.py) at 10 and 1,000 open chats; `--big` adds 10,000."""

from benchmarks.scale import main

raise SystemExit(main())

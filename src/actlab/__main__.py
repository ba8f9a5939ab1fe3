"""``python -m actlab``: the command-line lab (same as the ``actlab`` command)."""

from actlab.cli import main

main()

"""Shared command-line plumbing: user errors become one clear line, never a traceback."""
from __future__ import annotations

import sys
from typing import Callable

from asd.dataset import DataError


class UsageError(Exception):
    """A bad argument or state the user can fix; the message says how."""


def run(main: Callable[[], int | None]) -> None:
    """Run a CLI entry point: DataError/UsageError -> `error: ...` and exit 2; Ctrl-C -> exit 130."""
    try:
        code = main()
    except (DataError, UsageError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    sys.exit(code or 0)

"""structlog, imported without rich: a worker has no use for it and it costs ~4 MiB at start.

structlog imports rich (and through it pygments) whenever rich is installed — core ships it for the
CLI's tables — to pretty-print tracebacks. Lanes never lets it: tracebacks become text in
:func:`~core.telemetry.configure_logging` before redaction, so the renderer only ever sees strings.
Hiding rich for the length of structlog's own import keeps a worker's memory and start-up to what
it uses (``bench/``: figure 4); a process that imported rich before structlog gets structlog as
usual. Output is the same either way: the renderer is only ever handed text.
"""

from __future__ import annotations

import sys

__all__ = ["structlog"]

if "structlog" not in sys.modules and "rich" not in sys.modules:
    sys.modules["rich"] = None  # type: ignore[assignment]  # import of rich fails: structlog skips it
    try:
        import structlog
    finally:
        if "rich" in sys.modules and sys.modules["rich"] is None:
            del sys.modules["rich"]

import structlog  # the module imported above, or as usual

"""What every event-stream response shares: the keep-alive comment.

Clients and proxies ignore comment lines (https://html.spec.whatwg.org/multipage/
server-sent-events.html#event-stream-interpretation), so one sent when a run is idle keeps
the connection open without reaching the client's handlers.
"""

from __future__ import annotations

KEEP_ALIVE = b": ping\n\n"
"""Written when a follower reports an idle period (an empty batch)."""

"""Caps on a URL-mode run, with their defaults, and what we tell people about them.

Every cap is a named setting: the Flask config key ``URL_<NAME>`` (from the
environment as ``PLAYGROUND_URL_<NAME>``). The guard's own settings are
``URL_ALLOW`` (``host:port`` pairs fetched despite the guard) and
``URL_PORTS`` (ports a URL may name; 80 and 443 by default).
"""

from __future__ import annotations

from dataclasses import dataclass

from playground.urls.ssrf import DEFAULT_PORTS

KIB = 1024
MIB = 1024 * KIB

USER_AGENT = "asyncio-playground/0.1 (URL mode: a person asked to time this request)"


@dataclass(frozen=True)
class FetchLimits:
    max_urls: int = 20            # URLs in one run (400 past it)
    body_bytes: int = 1 * MIB     # bytes of each body read; the rest is not downloaded
    header_bytes: int = 8190      # longest status line or header line of an answer
    max_headers: int = 100        # header lines in an answer
    request_seconds: float = 10.0  # one URL, redirects included, from its first request
    total_seconds: float = 30.0    # the whole run
    concurrency: int = 10          # connections open at once in one run; the largest semaphore
    max_redirects: int = 5         # redirects followed (by hand, each one checked)
    runs: int = 4                  # URL-mode runs at once in this server process (503 past it)
    user_agent: str = USER_AGENT
    ca_file: str = ""              # extra CA certificates to trust (tests; private CAs)
    allow: frozenset[tuple[str, int]] = frozenset()
    ports: frozenset[int] = DEFAULT_PORTS
    # Code mode's network (playground.egress), per run: connections opened,
    # names looked up, bytes received and sent, and the wait for one
    # connection to open or one lookup to answer.
    code_connections: int = 20
    code_lookups: int = 50
    code_bytes_in: int = 4 * MIB
    code_bytes_out: int = 1 * MIB
    code_connect_seconds: float = 5.0



def size_text(n: int) -> str:
    """A cap in bytes for people: "1 MiB", "256 KiB", "100 bytes"."""
    if n >= MIB and n % MIB == 0:
        return f"{n // MIB} MiB"
    if n >= KIB and n % KIB == 0:
        return f"{n // KIB} KiB"
    return f"{n} bytes"


TOO_MANY_URLS = "This run has {count} URLs; the limit is {max_urls} a run."
NO_URLS = "Give at least one URL, one a line."
BAD_LIMIT = "Field 'limit' must be a whole number from 1 to {concurrency}."
BUSY = "Too many URL runs are going on right now."  # the page adds when it tries again

BODY_CUT = "Only the first {size} of the body were read; the rest was not downloaded."
REQUEST_TIMEOUT = "No complete answer within the {request_seconds:g} s limit for one URL (stopped while {phase})."
TOTAL_TIMEOUT = "The run reached its {total_seconds:g} s total limit before this URL finished."
TOO_MANY_REDIRECTS = "More than {max_redirects} redirects; stopped following them."
HEADERS_TOO_LARGE = "The answer's headers are larger than the playground reads ({header_bytes} bytes a line, " \
                    "{max_headers} lines)."

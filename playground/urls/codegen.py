"""The Python code equivalent to a URL-mode run, for each strategy.

URL mode shows, beside the URL list, the asyncio code that does what the
server does: ``aiohttp`` requests under the chosen strategy, which code mode
runs too (through the server's guard). "Open in code mode" gets a runnable
twin, to explore the strategy without fetching again: the same strategy,
word for word, with ``fetch()`` standing in for the request by sleeping as
long as each URL took in the last URL run (or ``DEFAULT_TOOK`` before any
run). Both are built here, so the tests can run the twin.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

from playground.sharing.script import script_text
from playground.urls.fetcher import DEFAULT_SEMAPHORE, Strategy

DEFAULT_TOOK = 0.5

_BODIES: dict[str, str] = {
    "sequential": """
        for url in URLS:
            await fetch(session, url)
    """,
    "gather": """
        await asyncio.gather(*(fetch(session, url) for url in URLS))
    """,
    "semaphore": """
        semaphore = asyncio.Semaphore({limit})

        async def limited(url):
            async with semaphore:
                return await fetch(session, url)

        await asyncio.gather(*(limited(url) for url in URLS))
    """,
    "as_completed": """
        tasks = [asyncio.create_task(fetch(session, url)) for url in URLS]
        for next_done in asyncio.as_completed(tasks):
            await next_done
    """,
    "taskgroup": """
        async with asyncio.TaskGroup() as group:
            for url in URLS:
                group.create_task(fetch(session, url))
    """,
}

_REAL = '''\
import asyncio
import time

import aiohttp

URLS = {urls}


async def fetch(session, url):
    try:
        async with session.get(url) as response:
            body = await response.read()
            print(f"{{url}}: {{response.status}}, {{len(body)}} bytes")
            return response.status
    except aiohttp.ClientError as exc:
        print(f"{{url}}: {{type(exc).__name__}}: {{exc}}")
        return None


async def main():
    async with aiohttp.ClientSession() as session:
{body}

start = time.perf_counter()
asyncio.run(main())
print(f"{{len(URLS)}} URLs in {{time.perf_counter() - start:.2f}} s")
'''

_RUNNABLE = '''\
# {strategy}: the code URL mode runs, with the network simulated.
# The playground runs code without network access, so fetch() stands in
# for the request: it waits as long as each URL took {when}.
import asyncio
import time

URLS = {urls}

# URL: (seconds it took, what came back)
MEASURED = {measured}


async def fetch(session, url):
    took, outcome = MEASURED[url]
    await asyncio.sleep(took)
    print(f"{{url}}: {{outcome}} after {{took}} s")
    return outcome


async def main():
    session = None  # stands in for aiohttp.ClientSession()
{body}

start = time.perf_counter()
asyncio.run(main())
print(f"{{len(URLS)}} URLs in {{time.perf_counter() - start:.2f}} s")
'''

MAX_OUTCOME = 40


def _list(values: Sequence[str], indent: str = "    ") -> str:
    if not values:
        return "[]"
    return "[\n" + "".join(f"{indent}{value!r},\n" for value in values) + "]"


def _body(strategy: Strategy, limit: int, indent: str) -> str:
    body = textwrap.dedent(_BODIES[strategy]).strip("\n").format(limit=limit)
    return textwrap.indent(body, indent) + "\n"


def real_code(urls: Sequence[str], strategy: Strategy, limit: int = DEFAULT_SEMAPHORE) -> str:
    """The aiohttp code that does what URL mode does."""
    return _REAL.format(urls=_list(urls), body=_body(strategy, limit, " " * 8))


def real_script(urls: Sequence[str], strategy: Strategy, limit: int = DEFAULT_SEMAPHORE,
                python: str | None = None) -> str:
    """``real_code`` as a file for ``python`` (an id; None: no block), which needs aiohttp."""
    return script_text(real_code(urls, strategy, limit), python, dependencies=["aiohttp"])


def runnable_code(urls: Sequence[str], strategy: Strategy, limit: int = DEFAULT_SEMAPHORE,
                  took: Sequence[float | None] | None = None,
                  outcomes: Sequence[str | None] | None = None) -> str:
    """The same strategy for code mode, each request simulated by a sleep of
    the time it took (``took[i]`` for ``urls[i]``, in seconds) and printing
    what came back (``outcomes[i]``: a status code or the failure's type)."""
    measured: dict[str, tuple[float, str]] = {}
    for i, url in enumerate(urls):
        seconds = took[i] if took is not None and i < len(took) else None
        outcome = outcomes[i] if outcomes is not None and i < len(outcomes) else None
        measured.setdefault(url, (DEFAULT_TOOK if seconds is None else round(seconds, 3),
                                  (outcome or "simulated")[:MAX_OUTCOME]))
    pairs = "".join(f"    {url!r}: {value!r},\n" for url, value in measured.items())
    when = ("in your last URL run" if took is not None and any(t is not None for t in took)
            else f"(a guess of {DEFAULT_TOOK} s: run the URLs to measure)")
    return _RUNNABLE.format(strategy=strategy, when=when, urls=_list(urls),
                            measured="{\n" + pairs + "}" if pairs else "{}",
                            body=_body(strategy, limit, " " * 4))

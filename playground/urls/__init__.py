"""URL mode: the fetcher (aiohttp under a strategy), the phases it measures,
the SSRF guard, its caps, and the equivalent Python code."""

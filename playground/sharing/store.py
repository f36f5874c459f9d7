"""Where shared snippets are kept: one SQLAlchemy engine per app, one table.

By default a SQLite file in the app's instance folder (WAL journal, a busy
timeout, so concurrent writers wait for each other instead of failing); any
SQLAlchemy URL through ``DATABASE_URL`` (``PLAYGROUND_DATABASE_URL``), e.g.
``postgresql://user:pass@host/db``, which is driven by psycopg 3. The schema is
created when the app starts, if it is not there yet.

Snippets are content-addressed: the id is a base62 prefix of the SHA-256 of
the snippet's canonical JSON, so the same snippet always gets the same id and
saving it again stores nothing new. When a different snippet already holds a
prefix (a collision), the id is lengthened until it is unique.

A code snippet names the Python it runs on (``"python": "3.14"``) in its
JSON, so the id covers it: the same code shared for two Pythons is two
snippets. Snippets saved before a run could pick its Python have no such key;
they ran on 3.11, and read so (``LEGACY_PYTHON``), with no change to the
table or to their ids. A snippet for 3.11 is saved the same way, without
the key, so the same code for 3.11 keeps the link it had.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    func,
    inspect,
    select,
)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

SQLITE_FILE = "playground.db"
SQLITE_BUSY_SECONDS = 15.0
ID_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
ID_LENGTH = 10
# 62**43 > 2**256: a 43-character id holds the whole digest.
ID_MAX_LENGTH = 43
ID_PATTERN = re.compile(rf"[0-9A-Za-z]{{{ID_LENGTH},{ID_MAX_LENGTH}}}")
# The Python every code snippet ran on before runs could pick one.
LEGACY_PYTHON = "3.11"

metadata = MetaData()

snippets = Table(
    "snippets",
    metadata,
    Column("id", String(ID_MAX_LENGTH), primary_key=True),
    Column("mode", String(8), nullable=False),
    # The canonical JSON of the snippet; its SHA-256 gives the id.
    Column("body", Text, nullable=False),
    Column("created", DateTime(timezone=True), nullable=False),
)


class StoreError(Exception):
    """The database could not store or read a snippet."""


def canonical(data: dict[str, Any]) -> str:
    """The one JSON text of a snippet: sorted keys, no spaces, UTF-8 as is;
    a code snippet for ``LEGACY_PYTHON`` without its ``python``, as it was saved
    before runs could pick their Python."""
    if data.get("python") == LEGACY_PYTHON:
        data = {key: value for key, value in data.items() if key != "python"}
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def snippet_id(body: str, length: int = ID_LENGTH) -> str:
    """The id of a canonical body: ``length`` base62 digits of its SHA-256."""
    number = int.from_bytes(hashlib.sha256(body.encode("utf-8")).digest(), "big")
    digits = []
    for _ in range(length):
        number, digit = divmod(number, len(ID_ALPHABET))
        digits.append(ID_ALPHABET[digit])
    return "".join(digits)


def is_snippet_id(text: str) -> bool:
    return ID_PATTERN.fullmatch(text) is not None


def database_url(configured: str, instance_path: str) -> URL:
    """``DATABASE_URL`` as SQLAlchemy reads it; SQLite in the instance folder if unset.

    ``postgres://`` and ``postgresql://`` mean psycopg 3, the driver we install.
    """
    configured = configured.strip()
    if not configured:
        os.makedirs(instance_path, exist_ok=True)
        return URL.create("sqlite", database=os.path.join(instance_path, SQLITE_FILE))
    url = make_url(configured)
    if url.drivername in ("postgres", "postgresql"):
        url = url.set(drivername="postgresql+psycopg")
    return url


def make_engine(url: URL) -> Engine:
    if url.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    # sqlite3's timeout is SQLite's busy timeout: a writer waits for the lock.
    return create_engine(url, connect_args={"timeout": SQLITE_BUSY_SECONDS})


@dataclass(frozen=True)
class StoredSnippet:
    id: str
    mode: str
    data: dict[str, Any]
    created: datetime


class SnippetStore:
    """Save and load snippets by their content-addressed id."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, configured_url: str, instance_path: str) -> SnippetStore:
        """The store at ``DATABASE_URL`` (or SQLite in ``instance_path``), its table created."""
        store = cls(make_engine(database_url(configured_url, instance_path)))
        store.create_schema()
        return store

    def create_schema(self) -> None:
        """Create the table unless it exists (several workers may race here)."""
        if self.engine.url.get_backend_name() == "sqlite" and self.engine.url.database not in (None, "", ":memory:"):
            # WAL lets readers go on while one writer commits; the setting
            # stays with the file, so once is enough.
            with self.engine.connect() as connection:
                connection.exec_driver_sql("PRAGMA journal_mode = WAL")
        try:
            metadata.create_all(self.engine)
        except SQLAlchemyError:
            if not inspect(self.engine).has_table(snippets.name):
                raise

    def save(self, data: dict[str, Any]) -> str:
        """Store a snippet (a JSON object with a ``mode``); its id, new or not."""
        body = canonical(data)
        for length in range(ID_LENGTH, ID_MAX_LENGTH + 1):
            candidate = snippet_id(body, length)
            stored = self._body(candidate)
            if stored is None:
                if self._insert(candidate, str(data["mode"]), body):
                    return candidate
                stored = self._body(candidate)  # another request stored this id just now
            if stored == body:
                return candidate
            # A different snippet holds this prefix: try a longer one.
        raise StoreError("no free id for this snippet")  # needs a SHA-256 collision

    def load(self, snippet_id: str) -> StoredSnippet | None:
        if not is_snippet_id(snippet_id):
            return None
        try:
            with self.engine.connect() as connection:
                row = connection.execute(
                    select(snippets.c.mode, snippets.c.body, snippets.c.created).where(snippets.c.id == snippet_id)
                ).first()
        except SQLAlchemyError as exc:
            raise StoreError(str(exc)) from exc
        if row is None:
            return None
        data = json.loads(row.body)
        if row.mode == "code":
            data.setdefault("python", LEGACY_PYTHON)
        return StoredSnippet(id=snippet_id, mode=row.mode, data=data, created=row.created)

    def count(self) -> int:
        with self.engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(snippets)).scalar_one())

    def _body(self, snippet_id: str) -> str | None:
        try:
            with self.engine.connect() as connection:
                body = connection.execute(select(snippets.c.body).where(snippets.c.id == snippet_id)).scalar()
        except SQLAlchemyError as exc:
            raise StoreError(str(exc)) from exc
        return body  # type: ignore[no-any-return]

    def _insert(self, snippet_id: str, mode: str, body: str) -> bool:
        """Insert a row; False when the id was taken meanwhile."""
        try:
            with self.engine.begin() as connection:
                connection.execute(snippets.insert().values(
                    id=snippet_id, mode=mode, body=body, created=datetime.now(UTC)))
        except IntegrityError:
            return False
        except SQLAlchemyError as exc:
            raise StoreError(str(exc)) from exc
        return True

    def close(self) -> None:
        self.engine.dispose()

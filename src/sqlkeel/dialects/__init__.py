"""The registry: which package serves which URL schemes. Loading a dialect class is cheap
and never loads its driver (a dialect imports it in ``connect``).

Adding a database family: one package under ``sqlkeel/dialects/`` (see the checklist in
``base.py``) and one line in ``ENTRIES``; nothing else names it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from sqlkeel.core.values import Value
from sqlkeel.errors import ConfigError

TYPE_CHECKING = False  # see sqlkeel.core.values
if TYPE_CHECKING:
    from sqlkeel.core.splitter import SplitOptions
    from sqlkeel.dialects.base import Dialect
    from sqlkeel.urls import DatabaseURL


class Entry(Value):
    """One family: its URL schemes (the first is its name), where its dialect class lives,
    and the form of its URLs: "server" (``scheme://user:pw@host:port/db?params``) or "file"
    (``scheme:///relative/path``, ``scheme:////absolute/path``, ``scheme:///:memory:``)."""

    __slots__ = ("cls", "example", "form", "module", "schemes")
    schemes: tuple[str, ...]
    module: str
    cls: str
    form: str
    example: str  # a URL for messages

    def __init__(
        self, schemes: tuple[str, ...], module: str, cls: str, *, form: str, example: str
    ) -> None:
        self.schemes = schemes
        self.module = module
        self.cls = cls
        self.form = form
        self.example = example

    @property
    def family(self) -> str:
        return self.schemes[0]


ENTRIES: tuple[Entry, ...] = (
    Entry(("sqlite",), "sqlkeel.dialects.sqlite", "SQLiteDialect", form="file",
          example="sqlite:///app.db"),
    Entry(("postgresql", "postgres"), "sqlkeel.dialects.postgres", "PostgresDialect",
          form="server", example="postgresql://app@localhost:5432/app"),
    Entry(("mysql", "mariadb"), "sqlkeel.dialects.mysql", "MySQLDialect", form="server",
          example="mysql://app@db.example.com/app"),
    Entry(("duckdb",), "sqlkeel.dialects.duckdb", "DuckDBDialect", form="file",
          example="duckdb:///app.duckdb"),
)  # fmt: skip

_BY_SCHEME = {scheme: entry for entry in ENTRIES for scheme in entry.schemes}


def entry_for(scheme: str) -> Entry | None:
    """The family a URL scheme (without a ``+driver`` suffix, any case) names, if any."""
    return _BY_SCHEME.get(scheme.lower())


def accepted_schemes() -> str:
    """The schemes keel accepts, as messages list them."""
    parts = []
    for entry in ENTRIES:
        aliases = entry.schemes[1:]
        alias = f" (alias {', '.join(aliases)})" if aliases else ""
        parts.append(entry.family + alias)
    return ", ".join(parts)


def _class(family: str) -> type[Dialect]:
    entry = entry_for(family)
    if entry is None:
        raise ConfigError(
            f"keel has no support for {family} databases yet; supported: "
            + ", ".join(e.family for e in ENTRIES)
            + "."
        )
    cls: type[Dialect] = getattr(importlib.import_module(entry.module), entry.cls)
    return cls


def split_profiles_for(url: DatabaseURL | None) -> tuple[SplitOptions, ...]:
    """The splitter profile of the URL's dialect. Without a usable URL (validate --offline),
    every profile, so that a file is refused only if no supported database could parse it."""
    if url is None or entry_for(url.scheme) is None:
        profiles: list[SplitOptions] = []
        for entry in ENTRIES:
            options = _class(entry.family).capabilities.split_options
            if options not in profiles:
                profiles.append(options)
        return tuple(profiles)
    return (_class(url.scheme).capabilities.split_options,)


def dialect_for(
    url: DatabaseURL,
    *,
    table: str,
    schema: str | None,
    busy_timeout: float = 60.0,
    on_busy: Callable[[str], None] | None = None,
    send_whole: bool = True,
    pooled: bool = False,
) -> Dialect:
    """The dialect for ``url``; raises ConfigError for an unsupported scheme or a URL (or
    URL parameter) the family refuses."""
    return _class(url.scheme)(
        url,
        table=table,
        schema=schema,
        busy_timeout=busy_timeout,
        on_busy=on_busy,
        send_whole=send_whole,
        pooled=pooled,
    )

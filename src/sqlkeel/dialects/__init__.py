"""Scheme -> dialect class, imported lazily so that no driver loads before it is needed."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from sqlkeel.core.splitter import POSTGRES, SQLITE, SplitOptions
from sqlkeel.errors import ConfigError

if TYPE_CHECKING:
    from sqlkeel.dialects.base import Dialect
    from sqlkeel.urls import DatabaseURL

# scheme -> (module, class, splitter profile). The profile lives here too so that offline
# validation can split files for a URL without importing the dialect module.
_REGISTRY: dict[str, tuple[str, str, SplitOptions]] = {
    "sqlite": ("sqlkeel.dialects.sqlite", "SQLiteDialect", SQLITE),
    "postgresql": ("sqlkeel.dialects.postgres", "PostgresDialect", POSTGRES),
}


def split_profiles_for(url: DatabaseURL | None) -> tuple[SplitOptions, ...]:
    """The splitter profile of the URL's dialect; without a URL (validate --offline), every
    profile, so that a file is refused only if no supported database could parse it."""
    if url is None:
        return tuple(entry[2] for entry in _REGISTRY.values())
    return (_entry(url)[2],)


def _entry(url: DatabaseURL) -> tuple[str, str, SplitOptions]:
    try:
        return _REGISTRY[url.scheme]
    except KeyError:
        raise ConfigError(
            f"keel has no support for {url.scheme} databases yet; supported: "
            + ", ".join(sorted(_REGISTRY))
            + "."
        ) from None


def dialect_for(url: DatabaseURL, *, table: str, schema: str | None) -> Dialect:
    """Instantiate the dialect for ``url``; imports only that dialect's module."""
    module_name, class_name, _options = _entry(url)
    cls = getattr(importlib.import_module(module_name), class_name)
    dialect: Dialect = cls(url, table=table, schema=schema)
    return dialect

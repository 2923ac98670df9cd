"""Scheme -> dialect class. Dialect modules import their driver only when connecting, so
loading a class here is cheap and never loads a driver."""

from __future__ import annotations

import importlib

from sqlkeel.errors import ConfigError

TYPE_CHECKING = False  # see sqlkeel.core.values
if TYPE_CHECKING:
    from sqlkeel.core.splitter import SplitOptions
    from sqlkeel.dialects.base import Dialect
    from sqlkeel.urls import DatabaseURL

# scheme -> (module, class). Adding a dialect: one module and one line here.
_REGISTRY: dict[str, tuple[str, str]] = {
    "sqlite": ("sqlkeel.dialects.sqlite", "SQLiteDialect"),
    "postgresql": ("sqlkeel.dialects.postgres", "PostgresDialect"),
    "mysql": ("sqlkeel.dialects.mysql", "MySQLDialect"),
}


def _class(scheme: str) -> type[Dialect]:
    try:
        module_name, class_name = _REGISTRY[scheme]
    except KeyError:
        raise ConfigError(
            f"keel has no support for {scheme} databases yet; supported: "
            + ", ".join(sorted(_REGISTRY))
            + "."
        ) from None
    cls: type[Dialect] = getattr(importlib.import_module(module_name), class_name)
    return cls


def split_profiles_for(url: DatabaseURL | None) -> tuple[SplitOptions, ...]:
    """The splitter profile of the URL's dialect. Without a usable URL (validate --offline),
    every profile, so that a file is refused only if no supported database could parse it."""
    if url is None or url.scheme not in _REGISTRY:
        return tuple(_class(scheme).split_options for scheme in _REGISTRY)
    return (_class(url.scheme).split_options,)


def dialect_for(url: DatabaseURL, *, table: str, schema: str | None) -> Dialect:
    """Instantiate the dialect for ``url``; raises ConfigError for an unsupported scheme."""
    return _class(url.scheme)(url, table=table, schema=schema)

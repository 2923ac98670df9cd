"""Database URLs: parse, map scheme aliases to a family, keep the password out of all output.

The schemes, their aliases and their form come from the registry (``sqlkeel.dialects``):
file URLs (``sqlite:///relative.db``, ``sqlite:////absolute.db``, ``sqlite:///:memory:``,
``sqlite://`` for memory) and server URLs (``postgresql://user:pw@host:port/db?params``); a
SQLAlchemy-style driver suffix (``postgresql+psycopg2://``) is accepted and ignored. The user
info ends at the last ``@`` before the host, so an unencoded ``@`` or ``/`` in a password is
hidden rather than leaked; percent-encoding (``%40``, ``%2F``) is the documented way.
No str, repr or exception of this module ever contains the password.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import parse_qsl, unquote

from sqlkeel.core.values import Value
from sqlkeel.dialects import ENTRIES, accepted_schemes, entry_for
from sqlkeel.errors import ConfigError

__all__ = ["DatabaseURL", "holds_password", "mask_password", "parse_url"]

_EXPECTED = "Expected scheme://user:password@host:port/database, e.g. " + ", ".join(
    entry.example for entry in ENTRIES
)


def _file_expected(scheme: str) -> str:
    entry = entry_for(scheme)
    suffix = os.path.splitext(entry.example)[1] if entry is not None else ""
    return (
        f"Expected {scheme}:///relative/path{suffix}, {scheme}:////absolute/path{suffix} or "
        f"{scheme}:///:memory:"
    )


_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9_.-]*)(?:\+[A-Za-z0-9_.-]+)?")
_PORT = re.compile(r"[0-9]{1,5}")
# Query or conninfo keys whose value is a password.
_SECRET_KEYS = r"(?:password|passwd|pwd)"
_QUERY_SECRET = re.compile(rf"(?i)(^|&)({_SECRET_KEYS}=)[^&]*")
# scheme://user:<password>@ : greedy up to the last "@" of the whitespace-free token, so a
# password holding "@" or "/" is masked whole (over-masking is the safe direction).
_TEXT_URL_SECRET = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://[^:/@\s]*:)\S*@")
# key=value conninfo (libpq, ODBC-style) and query strings: password=..., pwd='...'.
# ${NAME} / ${NAME:-default}: filled from the environment when the URL is read (SPEC 8).
_ENV_REFERENCE = re.compile(r"\$\{[^}]*\}")
_TEXT_KV_SECRET = re.compile(
    rf"""(?i)\b({_SECRET_KEYS}\s*=\s*)('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|[^\s&;,'")]+)"""
)


class _Pieces(Value):
    """The raw (still percent-encoded) parts of a server URL after ``scheme://``."""

    __slots__ = ("hostport", "path", "query", "userinfo")
    userinfo: str | None
    hostport: str
    path: str | None
    query: str | None

    def __init__(
        self, userinfo: str | None, hostport: str, path: str | None, query: str | None
    ) -> None:
        self.userinfo = userinfo
        self.hostport = hostport
        self.path = path
        self.query = query


def _split_userinfo(rest: str) -> tuple[str | None, str]:
    """Split ``user:password@`` off ``rest`` at its last ``@``; (None, rest) when there is none.

    An ``@`` whose user name would contain ``/`` or ``?`` belongs to the path or the query.
    """
    at = rest.rfind("@")
    if at < 0:
        return None, rest
    user = rest[:at].partition(":")[0]
    if "/" in user or "?" in user:
        return None, rest
    return rest[:at], rest[at + 1 :]


def _split_server(rest: str) -> _Pieces:
    userinfo, after = _split_userinfo(rest)
    location, qmark, query = after.partition("?")
    hostport, slash, path = location.partition("/")
    return _Pieces(userinfo, hostport, path if slash else None, query if qmark else None)


def _mask_query(query: str) -> str:
    return _QUERY_SECRET.sub(r"\1\2***", query)


class DatabaseURL(Value):
    """A parsed database URL; ``scheme`` is the family: sqlite, postgresql or mysql.

    ``raw`` holds the password: print ``masked()`` (also ``str``/``repr``), never ``raw``.
    """

    __slots__ = (
        "database",
        "host",
        "is_file",
        "password",
        "port",
        "query",
        "raw",
        "scheme",
        "username",
    )
    # not query
    _hashed = ("database", "host", "is_file", "password", "port", "raw", "scheme", "username")
    scheme: str
    raw: str
    username: str | None
    password: str | None
    host: str | None
    port: int | None
    database: str | None
    query: dict[str, str]
    is_file: bool  # a database file (or memory) of this process, not a server

    def __init__(
        self,
        scheme: str,
        raw: str,
        username: str | None,
        password: str | None,
        host: str | None,
        port: int | None,
        database: str | None,
        query: dict[str, str] | None = None,  # None: a new empty dict
        *,
        is_file: bool = False,
    ) -> None:
        self.scheme = scheme
        self.raw = raw
        self.username = username
        self.password = password
        self.host = host
        self.port = port
        self.database = database
        self.query = {} if query is None else query
        self.is_file = is_file

    def masked(self) -> str:
        """The URL as given, with the password (and any ``password=`` parameter) as ``***``."""
        head, _, rest = self.raw.partition("://")
        userinfo, after = _split_userinfo(rest) if not self.is_file else (None, rest)
        location, qmark, query = after.partition("?")
        if qmark:
            after = f"{location}?{_mask_query(query)}"
        if userinfo is not None:
            user, colon, secret = userinfo.partition(":")
            if colon and secret:
                userinfo = f"{user}:***"
            after = f"{userinfo}@{after}"
        return f"{head}://{after}"

    def __str__(self) -> str:
        return self.masked()

    def __repr__(self) -> str:
        return f"DatabaseURL({self.masked()!r})"

    @property
    def is_memory(self) -> bool:
        """True for an in-memory database of a file URL (``:memory:``)."""
        return self.is_file and self.database == ":memory:"


def parse_url(text: str, *, base_dir: Path | None = None) -> DatabaseURL:
    """Parse a database URL; a relative SQLite path becomes absolute against ``base_dir`` if given.

    Raises ConfigError (never quoting the password) for an empty URL, a missing ``://``, an
    unknown scheme, a bad port or a SQLite URL without a path.
    """
    raw = text.strip()
    if not raw:
        raise ConfigError(f"The database URL is empty. {_EXPECTED}.")
    scheme_text, sep, rest = raw.partition("://")
    if not sep:
        bare = re.match(r"([A-Za-z][A-Za-z0-9_.-]*)(?:\+[A-Za-z0-9_.-]+)?:", raw)
        named = entry_for(bare.group(1)) if bare else None
        if named is not None and named.form == "file":
            raise ConfigError(
                f"The {named.family} database URL has no path. {_file_expected(named.family)}."
            )
        raise ConfigError(f"The database URL has no '://' after its scheme. {_EXPECTED}.")
    match = _SCHEME.fullmatch(scheme_text)
    if match is None:
        # Do not echo: text before a misplaced "://" may be credentials.
        raise ConfigError(
            f"The database URL does not start with a valid scheme; accepted schemes: "
            f"{accepted_schemes()}. {_EXPECTED}."
        )
    entry = entry_for(match.group(1))
    if entry is None:
        raise ConfigError(
            f"Unknown database URL scheme {scheme_text!r}; accepted schemes: "
            f"{accepted_schemes()} (a driver suffix, as in "
            f"scheme+driver://, is allowed). {_EXPECTED}."
        )
    if entry.form == "file":
        return _parse_file(raw, entry.family, rest, base_dir)
    return _parse_server(raw, entry.family, rest)


def _parse_file(raw: str, family: str, rest: str, base_dir: Path | None) -> DatabaseURL:
    location, qmark, query = rest.partition("?")
    params = dict(parse_qsl(query, keep_blank_values=True)) if qmark else {}
    expected = _file_expected(family)
    if not location:
        return DatabaseURL(family, raw, None, None, None, None, ":memory:", params, is_file=True)
    if not location.startswith("/"):
        # Quote the input only when it holds no "user:password@" part.
        shown, hint = (
            (f" {raw!r}", f" ({family}:///{location})") if "@" not in location else ("", "")
        )
        raise ConfigError(
            f"The {family} database URL{shown} names a host; a file path needs three slashes"
            f"{hint}. {expected}."
        )
    path = unquote(location[1:])
    if not path:
        raise ConfigError(f"The {family} database URL {raw!r} has no path. {expected}.")
    if path != ":memory:" and base_dir is not None and not os.path.isabs(path):
        path = os.path.abspath(os.path.join(base_dir, path))
    return DatabaseURL(family, raw, None, None, None, None, path, params, is_file=True)


def _parse_server(raw: str, family: str, rest: str) -> DatabaseURL:
    pieces = _split_server(rest)
    username: str | None = None
    password: str | None = None
    if pieces.userinfo is not None:
        user, _, secret = pieces.userinfo.partition(":")
        username = unquote(user) or None
        password = unquote(secret) or None
    host, port = _parse_hostport(pieces.hostport, family)
    database = unquote(pieces.path) if pieces.path else None
    params = dict(parse_qsl(pieces.query, keep_blank_values=True)) if pieces.query else {}
    return DatabaseURL(family, raw, username, password, host, port, database, params)


def _parse_hostport(hostport: str, family: str) -> tuple[str | None, int | None]:
    # Never quote host or port in errors: a mangled URL may have a password fragment there.
    example = f"{family}://app@[::1]:5432/app"
    if hostport.startswith("["):
        close = hostport.find("]")
        if close < 0:
            raise ConfigError(
                f"The {family} database URL has an IPv6 host without its closing ']'; "
                f"write it in brackets, e.g. {example}. {_EXPECTED}."
            )
        host, after = hostport[1:close], hostport[close + 1 :]
        if after and not after.startswith(":"):
            raise ConfigError(
                f"The {family} database URL has text after the IPv6 host's ']' that is not "
                f"':port'. {_EXPECTED}."
            )
        port_text: str | None = after[1:] if after else None
    else:
        host, colon, port_part = hostport.partition(":")
        port_text = port_part if colon else None
    port: int | None = None
    if port_text is not None:
        if not _PORT.fullmatch(port_text) or not 1 <= int(port_text) <= 65535:
            raise ConfigError(
                f"The {family} database URL has an invalid port: expected a number from 1 to "
                f"65535 after the host; IPv6 hosts go in brackets ({example}); percent-encode "
                f"':', '/', '?' and '@' in user names and passwords. {_EXPECTED}."
            )
        port = int(port_text)
    return unquote(host) or None, port


def mask_password(text: str) -> str:
    """Replace every password in ``text`` (URLs, ``password=`` pairs) with ``***``.

    For messages that come from drivers and may quote a connection string.
    """
    text = _TEXT_URL_SECRET.sub(r"\1***@", text)
    return _TEXT_KV_SECRET.sub(r"\1***", text)


def holds_password(text: str) -> bool:
    """Whether the URL ``text`` spells out a password (in ``user:password@`` or a
    ``password=`` parameter) rather than leaving it to a ``${VAR}`` reference."""
    literal = _ENV_REFERENCE.sub("", text)
    scheme, sep, rest = literal.partition("://")
    entry = entry_for(scheme.partition("+")[0]) if sep else None
    if not sep or (entry is not None and entry.form == "file"):
        return False
    pieces = _split_server(rest)
    if pieces.userinfo is not None and pieces.userinfo.partition(":")[2]:
        return True
    # parse_qsl drops parameters whose value is empty (the reference removed above).
    parameters = parse_qsl(pieces.query or "")
    return any(re.fullmatch(_SECRET_KEYS, key, re.IGNORECASE) for key, _ in parameters)

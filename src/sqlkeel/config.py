"""Settings: command-line flag > environment > ``keel.toml`` > ``[tool.keel]`` in pyproject.toml.

``load_settings()`` runs once at the edge (CLI or ``Keel(...)``) and returns a frozen
``Settings``; nothing deeper reads the environment or a file. Configuration files are only
parsed (TOML), never executed. ``${VAR}`` / ``${VAR:-default}`` in string values expand from
the environment (SPEC 8).
"""

from __future__ import annotations

import math
import os
import re
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import MappingProxyType

from sqlkeel.core.values import Value
from sqlkeel.errors import ConfigError
from sqlkeel.urls import DatabaseURL, parse_url

__all__ = ["KEYS", "Settings", "init_config_text", "load_settings"]

KEYS = (
    "url",
    "migrations_dir",
    "table",
    "schema",
    "lock_timeout",
    "lock_mode",
    "lock_lease",
    "one_round_trip",
)

LOCK_MODES = ("session", "table")
_VALID_KEYS = ", ".join(KEYS)
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
_ENV_NAMES: Mapping[str, tuple[str, ...]] = {
    "url": ("KEEL_URL", "DATABASE_URL"),
    **{key: (f"KEEL_{key.upper()}",) for key in KEYS if key != "url"},
}
_FLAG_NAMES: Mapping[str, str] = {
    "url": "--url",
    "migrations_dir": "--dir",
    "table": "--table",
    "schema": "--schema",
    "lock_timeout": "--lock-timeout",
    "lock_mode": "--lock-mode",
    "lock_lease": "--lock-lease",
}
# Keys with no command-line flag, as a value given to Keel(...) is named.
_ARGUMENT_NAMES: Mapping[str, str] = {"one_round_trip": "the one_round_trip argument of Keel()"}
_BOOLEANS = {"true": True, "1": True, "yes": True, "on": True}
_BOOLEANS.update({"false": False, "0": False, "no": False, "off": False})
# ${NAME} or ${NAME:-default}; a "${" with no closing "}" is the second alternative.
_REFERENCE = re.compile(r"\$\{([^}]*)\}|\$\{")
_REFERENCE_BODY = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?", re.DOTALL)
_TOML_POSITION = re.compile(r"\(at end of document\)$")


class Settings(Value):
    """Resolved settings; paths are absolute. ``sources`` maps each key to where its value came
    from: "flag", "env", "keel.toml", "pyproject.toml" or "default".

    Frozen: assigning a field raises ``dataclasses.FrozenInstanceError``, as when this was a
    frozen dataclass (one instance per run, so the guard costs nothing).
    """

    __slots__ = (
        "config_file",
        "lock_lease",
        "lock_mode",
        "lock_timeout",
        "migrations_dir",
        "one_round_trip",
        "schema",
        "sources",
        "table",
        "url",
        "url_error",
    )
    _hashed = (
        "config_file",
        "lock_lease",
        "lock_mode",
        "lock_timeout",
        "migrations_dir",
        "one_round_trip",
        "schema",
        "table",
        "url",
        "url_error",
    )  # not ``sources``
    url: DatabaseURL | None
    migrations_dir: Path
    table: str
    schema: str | None
    lock_timeout: float
    lock_mode: str
    # Whether a dialect may send a whole migration in one round trip (PostgreSQL).
    one_round_trip: bool
    lock_lease: float  # seconds without a heartbeat after which a table-mode lease is stale
    config_file: Path | None
    sources: Mapping[str, str]
    url_error: str | None  # why the configured URL is unusable; raised on connect

    def __init__(
        self,
        url: DatabaseURL | None,
        migrations_dir: Path,
        table: str = "keel_history",
        schema: str | None = None,
        lock_timeout: float = 60.0,
        lock_mode: str = "session",
        config_file: Path | None = None,
        sources: Mapping[str, str] | None = None,  # None: a new empty dict
        url_error: str | None = None,
        one_round_trip: bool = True,
        lock_lease: float = 60.0,
    ) -> None:
        init = object.__setattr__  # plain assignment is refused, see ``__setattr__``
        init(self, "lock_lease", lock_lease)
        init(self, "url", url)
        init(self, "migrations_dir", migrations_dir)
        init(self, "table", table)
        init(self, "schema", schema)
        init(self, "lock_timeout", lock_timeout)
        init(self, "lock_mode", lock_mode)
        init(self, "config_file", config_file)
        init(self, "sources", {} if sources is None else sources)
        init(self, "url_error", url_error)
        init(self, "one_round_trip", one_round_trip)

    def __setattr__(self, name: str, value: object) -> None:
        from dataclasses import FrozenInstanceError  # only on this error path: ~17 ms

        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        from dataclasses import FrozenInstanceError

        raise FrozenInstanceError(f"cannot delete field {name!r}")

    def __setstate__(self, state: tuple[object, dict[str, object]]) -> None:
        """For ``copy.copy``, which restores slots by assignment."""
        for name, value in state[1].items():
            object.__setattr__(self, name, value)


class _ConfigFile(Value):
    __slots__ = ("label", "path", "values")
    path: Path
    label: str  # "keel.toml" or "pyproject.toml": the format, used in Settings.sources
    values: Mapping[str, object]

    def __init__(self, path: Path, label: str, values: Mapping[str, object]) -> None:
        self.path = path
        self.label = label
        self.values = values

    @property
    def section(self) -> str:
        return f"[tool.keel] of {self.path}" if self.label == "pyproject.toml" else str(self.path)


class _Candidate(Value):
    """One layer's value for one key, with where it came from and what relative paths mean."""

    __slots__ = ("base_dir", "label", "value", "where")
    value: object
    label: str
    where: str
    base_dir: Path

    def __init__(self, value: object, label: str, where: str, base_dir: Path) -> None:
        self.value = value
        self.label = label
        self.where = where
        self.base_dir = base_dir


def load_settings(
    *,
    flags: Mapping[str, object | None] | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    config_path: Path | None = None,
) -> Settings:
    """Resolve every key from flags, environment and the discovered (or given) config file.

    Flags whose value is None and empty strings count as unset. Raises ConfigError naming the
    key and its source for any bad value; ValueError for a flag name that is not in ``KEYS``.
    """
    env: Mapping[str, str] = os.environ if environ is None else environ
    here = Path(os.path.abspath(cwd if cwd is not None else Path.cwd()))
    flag_values = dict(flags or {})
    unknown = sorted(set(flag_values) - set(KEYS))
    if unknown:
        raise ValueError(f"unknown settings key(s) {unknown} in flags; valid keys: {_VALID_KEYS}")
    files = _find_config_files(here, config_path)

    def candidates(key: str) -> Iterator[_Candidate]:
        flag = flag_values.get(key)
        if flag is not None:
            where = _ARGUMENT_NAMES.get(key) or f"the {_FLAG_NAMES[key]} option"
            yield _Candidate(flag, "flag", where, here)
        for name in _ENV_NAMES[key]:
            value = env.get(name)
            if value:
                yield _Candidate(value, "env", f"environment variable {name}", here)
        for config in files:
            if key in config.values:
                yield _Candidate(
                    config.values[key], config.label, config.section, config.path.parent
                )

    def choose(key: str) -> _Candidate | None:
        for candidate in candidates(key):
            value = candidate.value
            if isinstance(value, str):
                value = _expand(value, key, candidate.where, env)
                if not value:
                    continue
            return _Candidate(value, candidate.label, candidate.where, candidate.base_dir)
        return None

    chosen = {key: c for key in KEYS if key != "url" and (c := choose(key)) is not None}
    url: DatabaseURL | None = None
    url_error: str | None = None
    try:
        if (candidate := choose("url")) is not None:
            chosen["url"] = candidate
            url = _to_url(candidate)
    except ConfigError as exc:
        # A bad or unexpandable URL matters only to commands that connect: offline ones
        # (validate --offline, new, init) must still work, so the error waits until then.
        url_error = str(exc)

    sources = {key: chosen[key].label if key in chosen else "default" for key in KEYS}
    config_file = files[0].path if files else None
    default_base = config_file.parent if config_file is not None else here
    return Settings(
        url=url,
        url_error=url_error,
        migrations_dir=(
            _to_directory(chosen["migrations_dir"])
            if "migrations_dir" in chosen
            else default_base / "migrations"
        ),
        table=_to_identifier("table", chosen["table"]) if "table" in chosen else "keel_history",
        schema=_to_identifier("schema", chosen["schema"]) if "schema" in chosen else None,
        lock_timeout=_to_timeout(chosen["lock_timeout"]) if "lock_timeout" in chosen else 60.0,
        lock_mode=_to_lock_mode(chosen["lock_mode"]) if "lock_mode" in chosen else "session",
        one_round_trip=(
            _to_bool("one_round_trip", chosen["one_round_trip"])
            if "one_round_trip" in chosen
            else True
        ),
        lock_lease=_to_lease(chosen["lock_lease"]) if "lock_lease" in chosen else 60.0,
        config_file=config_file,
        sources=MappingProxyType(sources),
    )


def _expand(text: str, key: str, where: str, environ: Mapping[str, str]) -> str:
    """Expand ``${NAME}`` and ``${NAME:-default}``; errors name the variable, never the value."""

    def substitute(match: re.Match[str]) -> str:
        body = _REFERENCE_BODY.fullmatch(match.group(1) or "")
        if body is None:
            raise ConfigError(
                f"{key} from {where} has a malformed ${{...}} reference; write ${{NAME}} or "
                f"${{NAME:-default}}, where NAME is letters, digits and underscores."
            )
        name, default = body.group(1), body.group(2)
        value = environ.get(name, "")
        if value:
            return value
        if default is not None:
            return default
        raise ConfigError(
            f"{key} from {where} refers to ${{{name}}}, but environment variable {name} is not "
            f"set (or is empty). Fix: set {name}, or give a default with ${{{name}:-default}}."
        )

    if "${" not in text:
        return text
    return _REFERENCE.sub(substitute, text)


def find_config_file(start: Path) -> Path | None:
    """The config file keel would use from ``start`` (walking up), or None."""
    found = _find_config_files(Path(os.path.abspath(start)), None)
    return found[0].path if found else None


def _find_config_files(here: Path, config_path: Path | None) -> list[_ConfigFile]:
    """The config files in precedence order: keel.toml first, then [tool.keel], or nothing."""
    if config_path is not None:
        path = Path(os.path.abspath(here / config_path))
        if not path.is_file():
            raise ConfigError(
                f"Config file {path} does not exist (or is not a file). Fix: check the --config "
                f"path, or leave it out to search for keel.toml / pyproject.toml upwards."
            )
        if path.name == "pyproject.toml":
            table = _tool_keel_table(path, _read_toml(path))
            if table is None:
                raise ConfigError(
                    f"{path} has no [tool.keel] table. Fix: add one with keys from "
                    f"{_VALID_KEYS}, or point --config at a keel.toml."
                )
            return [_checked(path, "pyproject.toml", table)]
        return [_checked(path, "keel.toml", _read_toml(path))]

    for directory in (here, *here.parents):
        found: list[_ConfigFile] = []
        keel_toml = directory / "keel.toml"
        if keel_toml.is_file():
            found.append(_checked(keel_toml, "keel.toml", _read_toml(keel_toml)))
        pyproject = directory / "pyproject.toml"
        if pyproject.is_file():
            table = _pyproject_keel_table(pyproject)
            if table is not None:
                found.append(_checked(pyproject, "pyproject.toml", table))
        if found:
            return found
    return []


def _pyproject_keel_table(path: Path) -> Mapping[str, object] | None:
    """[tool.keel] of a discovered pyproject.toml, or None.

    A pyproject.toml that does not parse is skipped unless it mentions keel: it may belong to
    an unrelated project further up the tree.
    """
    try:
        data = _read_toml(path)
    except ConfigError:
        try:
            mentions_keel = "keel" in path.read_text(encoding="utf-8-sig", errors="replace")
        except OSError:
            mentions_keel = False
        if mentions_keel:
            raise
        return None
    return _tool_keel_table(path, data)


def _tool_keel_table(path: Path, data: Mapping[str, object]) -> Mapping[str, object] | None:
    tool = data.get("tool")
    if tool is None:
        return None
    if not isinstance(tool, dict) or ("keel" in tool and not isinstance(tool["keel"], dict)):
        raise ConfigError(f"{path}: [tool.keel] must be a table of keys ({_VALID_KEYS}).")
    keel = tool.get("keel")
    return keel if isinstance(keel, dict) else None


def _read_toml(path: Path) -> dict[str, object]:
    # Imported here, not at the top: tomllib imports typing, ~5 ms that a run without a
    # config file need not pay.
    if sys.version_info >= (3, 11):
        import tomllib
    else:
        import tomli as tomllib
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not valid UTF-8. Fix: save it as UTF-8.") from None
    except OSError as exc:
        raise ConfigError(f"Cannot read config file {path}: {exc.strerror}.") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        if _TOML_POSITION.search(message):
            lines = text.split("\n")
            message = _TOML_POSITION.sub(
                f"(at end of document, line {len(lines)}, column {len(lines[-1]) + 1})", message
            )
        raise ConfigError(
            f"{path} is not valid TOML: {message}. Fix the syntax there; keel only parses "
            f"this file, it never executes it."
        ) from None


def _checked(path: Path, label: str, values: Mapping[str, object]) -> _ConfigFile:
    config = _ConfigFile(path, label, dict(values))
    for key in values:
        if key not in KEYS:
            raise ConfigError(
                f"Unknown key {key!r} in {config.section}. Valid keys: {_VALID_KEYS}. "
                f"Fix: remove or rename it."
            )
    return config


def _to_url(candidate: _Candidate) -> DatabaseURL:
    value = candidate.value
    if isinstance(value, DatabaseURL):
        return value
    if not isinstance(value, str):
        from sqlkeel.dialects import ENTRIES

        raise ConfigError(
            f"url from {candidate.where} must be a string such as "
            f'"{ENTRIES[0].example}", not {_type_name(value)}.'
        )
    try:
        return parse_url(value, base_dir=candidate.base_dir)
    except ConfigError as exc:
        # parse_url never quotes the password, so its message can be passed on.
        raise ConfigError(f"url from {candidate.where}: {exc}") from None


def _to_directory(candidate: _Candidate) -> Path:
    value = candidate.value
    if not isinstance(value, (str, os.PathLike)):
        raise ConfigError(
            f"migrations_dir from {candidate.where} must be a path string such as "
            f'"migrations", not {_type_name(value)}.'
        )
    return Path(os.path.abspath(candidate.base_dir / os.fspath(value)))


def _to_identifier(key: str, candidate: _Candidate) -> str:
    value = candidate.value
    if not isinstance(value, str) or not _IDENTIFIER.fullmatch(value):
        raise ConfigError(
            f"{key} from {candidate.where} must be an identifier (a letter or underscore, then "
            f"letters, digits or underscores, at most 63 characters), not {_shown(value)}."
        )
    return value


def _seconds(candidate: _Candidate) -> float | None:
    """The value as a finite number of seconds, or None."""
    value = candidate.value
    seconds: float | None = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str):
        try:
            seconds = float(value.strip())
        except ValueError:
            seconds = None
    return seconds if seconds is not None and math.isfinite(seconds) else None


def _to_lease(candidate: _Candidate) -> float:
    seconds = _seconds(candidate)
    # Heartbeats come every third of the lease: below a second they would be most of the
    # work, and a holder's pause of a moment would cost it the lease.
    # A day at most: a dead holder's lease would block every run for longer than anyone
    # waits, and the heartbeat's wait must stay within what a thread can wait for.
    if seconds is None or not 1 <= seconds <= 86_400:
        raise ConfigError(
            f"lock_lease from {candidate.where} must be a number of seconds from 1 to 86400 "
            f"(e.g. 60), not {_shown(candidate.value)}."
        )
    return seconds


def _to_timeout(candidate: _Candidate) -> float:
    seconds = _seconds(candidate)
    if seconds is None or seconds < 0:
        raise ConfigError(
            f"lock_timeout from {candidate.where} must be a number of seconds >= 0 "
            f"(e.g. 60), not {_shown(candidate.value)}."
        )
    return seconds


def _to_lock_mode(candidate: _Candidate) -> str:
    value = candidate.value
    if value not in LOCK_MODES:
        raise ConfigError(
            f'lock_mode from {candidate.where} must be "session" or "table", not {_shown(value)}.'
        )
    assert isinstance(value, str)
    return value


def _to_bool(key: str, candidate: _Candidate) -> bool:
    value = candidate.value
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _BOOLEANS:
        return _BOOLEANS[value.strip().lower()]
    raise ConfigError(f"{key} from {candidate.where} must be true or false, not {_shown(value)}.")


def _shown(value: object) -> str:
    """A short description of a bad value: strings and numbers quoted, others by type."""
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return repr(value)
    return _type_name(value)


def _type_name(value: object) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a number", list: "an array"}
    return names.get(type(value), "a table" if isinstance(value, dict) else type(value).__name__)


def _toml_string(value: str) -> str:
    """``value`` as a TOML basic string."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + "".join(c if c >= " " else f"\\u{ord(c):04x}" for c in escaped) + '"'


def init_config_text(url: str | None = None, migrations_dir: str | None = None) -> str:
    """The commented ``keel.toml`` that ``keel init`` writes: every key with its default,
    and ``url`` / ``migrations_dir`` set when given (``keel init --url U --dir D``)."""
    text = _INIT_CONFIG
    if url is not None:
        text = text.replace('# url = "${DATABASE_URL}"', f"url = {_toml_string(url)}")
    if migrations_dir is not None:
        text = text.replace(
            '# migrations_dir = "migrations"', f"migrations_dir = {_toml_string(migrations_dir)}"
        )
    return text


_INIT_CONFIG = """\
# keel.toml: settings for keel, the raw-SQL migration tool.
# Precedence: command-line flag > environment (KEEL_URL or DATABASE_URL, KEEL_<KEY>)
# > this file > [tool.keel] in pyproject.toml. keel finds this file from any sub-folder.
# ${VAR} and ${VAR:-default} expand from the environment: keep passwords out of this file.
# Relative paths are relative to the folder of this file. Uncomment a line to change it.

# Database URL: postgresql://user@host:5432/db, mysql://user@host:3306/db, sqlite:///app.db
# or duckdb:///app.duckdb
# (default: none; offline commands such as `keel validate --offline` need no URL).
# url = "${DATABASE_URL}"

# Folder of migration files (V<version>__<description>.sql), scanned recursively.
# migrations_dir = "migrations"

# Name of keel's history table.
# table = "keel_history"

# PostgreSQL schema for keel's tables; it also leads the search_path while migrating,
# so unqualified tables of your migrations land there too (default: the search_path).
# On MySQL/MariaDB: the database that holds keel's tables (default: the URL's).
# schema = "public"

# Seconds to wait for another process's migration lock before giving up (exit code 3).
# lock_timeout = 60

# "session": a database session lock that dies with its process. "table": a lease row in
# keel_lock, renewed by a heartbeat; for connection poolers (PgBouncer in transaction mode).
# lock_mode = "session"

# PostgreSQL: send each migration whole (BEGIN, statements, keel's rows, COMMIT) in one
# round trip. false sends its statements one by one, as for any other database.
# one_round_trip = true
# Table mode: seconds without a heartbeat after which a lease counts as its holder's death
# and the next run takes it over (the holder renews it every third of this).
# lock_lease = 60
"""

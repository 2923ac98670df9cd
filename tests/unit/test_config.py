"""Settings resolution: flag > environment > keel.toml > [tool.keel] in pyproject.toml (SPEC 8)."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest

from sqlkeel.config import KEYS, Settings, init_config_text, load_settings
from sqlkeel.errors import ConfigError
from sqlkeel.urls import parse_url


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def pyproject(keel_table: str = "", *, name: str = "demo") -> str:
    text = f'[project]\nname = "{name}"\n'
    return text + (f"\n[tool.keel]\n{keel_table}" if keel_table else "")


def test_no_configuration_anywhere_gives_defaults(tmp_path: Path) -> None:
    settings = load_settings(environ={}, cwd=tmp_path)
    assert settings == Settings(
        url=None,
        migrations_dir=tmp_path / "migrations",
        sources=dict.fromkeys(KEYS, "default"),
    )
    assert settings.config_file is None
    assert (settings.table, settings.schema, settings.lock_timeout, settings.lock_mode) == (
        "keel_history",
        None,
        60.0,
        "session",
    )


def test_settings_are_frozen_and_sources_read_only(tmp_path: Path) -> None:
    settings = load_settings(environ={}, cwd=tmp_path)
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.table = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        settings.sources["table"] = "flag"  # type: ignore[index]
    assert hash(settings) == hash(load_settings(environ={}, cwd=tmp_path))


# Layers each set `table` to their own name; the highest layer present wins.
PRECEDENCE_CASES = [
    pytest.param(
        {"pyproject"}, "from_pyproject", "pyproject.toml", id="pyproject_alone_is_used"
    ),
    pytest.param(
        {"pyproject", "keel_toml"}, "from_keel_toml", "keel.toml",
        id="keel_toml_overrides_pyproject",
    ),
    pytest.param(
        {"pyproject", "keel_toml", "env"}, "from_env", "env",
        id="environment_overrides_keel_toml",
    ),
    pytest.param(
        {"pyproject", "keel_toml", "env", "flag"}, "from_flag", "flag",
        id="flag_overrides_environment",
    ),
    pytest.param({"pyproject", "flag"}, "from_flag", "flag", id="flag_overrides_pyproject"),
    pytest.param({"env"}, "from_env", "env", id="environment_alone_is_used"),
]  # fmt: skip


@pytest.mark.parametrize(("layers", "table", "source"), PRECEDENCE_CASES)
def test_precedence_is_flag_then_env_then_keel_toml_then_pyproject(
    tmp_path: Path, layers: set[str], table: str, source: str
) -> None:
    if "pyproject" in layers:
        write(tmp_path / "pyproject.toml", pyproject('table = "from_pyproject"\n'))
    if "keel_toml" in layers:
        write(tmp_path / "keel.toml", 'table = "from_keel_toml"\n')
    environ = {"KEEL_TABLE": "from_env"} if "env" in layers else {}
    flags = {"table": "from_flag"} if "flag" in layers else {}
    settings = load_settings(flags=flags, environ=environ, cwd=tmp_path)
    assert settings.table == table
    assert settings.sources["table"] == source


@pytest.mark.parametrize(
    ("key", "flag", "env_name", "env_value", "file_value", "expected"),
    [
        pytest.param(
            "lock_timeout", 5.0, "KEEL_LOCK_TIMEOUT", "7", 9, 5.0, id="lock_timeout_flag_wins"
        ),
        pytest.param(
            "lock_timeout", None, "KEEL_LOCK_TIMEOUT", "7.5", 9, 7.5, id="lock_timeout_env_wins"
        ),
        pytest.param(
            "lock_mode", None, "KEEL_LOCK_MODE", "table", "session", "table",
            id="lock_mode_env_wins",
        ),
        pytest.param(
            "lock_lease", 5.0, "KEEL_LOCK_LEASE", "7", 9, 5.0, id="lock_lease_flag_wins"
        ),
        pytest.param(
            "lock_lease", None, "KEEL_LOCK_LEASE", "7.5", 9, 7.5, id="lock_lease_env_wins"
        ),
        pytest.param(
            "lock_lease", None, "KEEL_LOCK_LEASE", "", 9, 9.0, id="lock_lease_from_the_file"
        ),
        pytest.param(
            "schema", "flagged", "KEEL_SCHEMA", "env_schema", "file_schema", "flagged",
            id="schema_flag_wins",
        ),
        pytest.param(
            "schema", None, "KEEL_SCHEMA", "", "file_schema", "file_schema",
            id="empty_environment_value_counts_as_unset",
        ),
    ],
)  # fmt: skip
def test_each_key_follows_the_precedence(
    tmp_path: Path,
    key: str,
    flag: object,
    env_name: str,
    env_value: str,
    file_value: object,
    expected: object,
) -> None:
    rendered = f'"{file_value}"' if isinstance(file_value, str) else str(file_value)
    write(tmp_path / "keel.toml", f"{key} = {rendered}\n")
    settings = load_settings(flags={key: flag}, environ={env_name: env_value}, cwd=tmp_path)
    assert getattr(settings, key) == expected


@pytest.mark.parametrize(
    ("environ", "flags", "database", "source"),
    [
        pytest.param(
            {"KEEL_URL": "sqlite:////k.db", "DATABASE_URL": "sqlite:////d.db"},
            {},
            "/k.db",
            "env",
            id="keel_url_beats_database_url",
        ),
        pytest.param(
            {"DATABASE_URL": "sqlite:////d.db"}, {}, "/d.db", "env", id="database_url_is_used"
        ),
        pytest.param(
            {"KEEL_URL": "", "DATABASE_URL": "sqlite:////d.db"},
            {},
            "/d.db",
            "env",
            id="empty_keel_url_counts_as_unset",
        ),
        pytest.param(
            {"KEEL_URL": "sqlite:////k.db"},
            {"url": "sqlite:////f.db"},
            "/f.db",
            "flag",
            id="url_flag_beats_environment",
        ),
        pytest.param(
            {"KEEL_URL": "sqlite:////k.db"},
            {"url": None},
            "/k.db",
            "env",
            id="flag_set_to_none_counts_as_unset",
        ),
        pytest.param(
            {},
            {"url": parse_url("sqlite:////given.db")},
            "/given.db",
            "flag",
            id="flag_may_be_a_parsed_url",
        ),
        pytest.param({}, {}, "/file.db", "keel.toml", id="keel_toml_url_when_nothing_else"),
    ],
)
def test_url_comes_from_keel_url_then_database_url(
    tmp_path: Path,
    environ: dict[str, str],
    flags: dict[str, object],
    database: str,
    source: str,
) -> None:
    write(tmp_path / "keel.toml", 'url = "sqlite:////file.db"\n')
    settings = load_settings(flags=flags, environ=environ, cwd=tmp_path)
    assert settings.url is not None
    assert settings.url.database == database
    assert settings.sources["url"] == source


def test_keel_toml_and_pyproject_in_one_folder_merge_keel_toml_first(tmp_path: Path) -> None:
    write(tmp_path / "keel.toml", 'table = "from_keel"\n')
    write(tmp_path / "pyproject.toml", pyproject('table = "ignored"\nlock_mode = "table"\n'))
    settings = load_settings(environ={}, cwd=tmp_path)
    assert (settings.table, settings.lock_mode) == ("from_keel", "table")
    assert settings.sources["table"] == "keel.toml"
    assert settings.sources["lock_mode"] == "pyproject.toml"
    assert settings.config_file == tmp_path / "keel.toml"


def test_config_is_found_by_walking_up_from_a_nested_sub_folder(tmp_path: Path) -> None:
    write(tmp_path / "keel.toml", 'url = "sqlite:///app.db"\nmigrations_dir = "db/migrations"\n')
    nested = tmp_path / "src" / "pkg" / "deep"
    nested.mkdir(parents=True)
    settings = load_settings(environ={}, cwd=nested)
    assert settings.config_file == tmp_path / "keel.toml"
    assert settings.migrations_dir == tmp_path / "db" / "migrations"
    assert settings.url is not None
    assert settings.url.database == str(tmp_path / "app.db")


def test_default_migrations_dir_is_beside_the_config_file(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", pyproject('table = "t"\n'))
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    settings = load_settings(environ={}, cwd=nested)
    assert settings.migrations_dir == tmp_path / "migrations"
    assert settings.sources["migrations_dir"] == "default"
    assert settings.config_file == tmp_path / "pyproject.toml"


@pytest.mark.parametrize(
    ("files", "found"),
    [
        pytest.param(
            {"keel.toml": 'table = "outer"\n', "a/pyproject.toml": pyproject('table = "inner"\n')},
            "a/pyproject.toml",
            id="nearest_folder_wins_and_outer_is_not_merged",
        ),
        pytest.param(
            {"keel.toml": 'table = "outer"\n', "a/pyproject.toml": pyproject()},
            "keel.toml",
            id="pyproject_without_tool_keel_is_passed_over",
        ),
        pytest.param(
            {"keel.toml": 'table = "outer"\n', "a/pyproject.toml": "[project\nname = 1\n"},
            "keel.toml",
            id="broken_pyproject_of_another_project_is_passed_over",
        ),
        pytest.param(
            {"keel.toml": 'table = "outer"\n', "a/b/keel.toml": 'table = "inner"\n'},
            "a/b/keel.toml",
            id="keel_toml_in_the_current_folder_wins",
        ),
    ],
)
def test_discovery_stops_at_the_first_folder_with_keel_configuration(
    tmp_path: Path, files: dict[str, str], found: str
) -> None:
    for name, text in files.items():
        write(tmp_path / name, text)
    cwd = tmp_path / "a" / "b"
    cwd.mkdir(parents=True, exist_ok=True)
    settings = load_settings(environ={}, cwd=cwd)
    assert settings.config_file == tmp_path / found
    assert settings.table == ("outer" if found == "keel.toml" else "inner")


def test_broken_pyproject_that_mentions_keel_is_an_error(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", "[tool.keel]\ntable = \n")
    with pytest.raises(ConfigError, match=r"pyproject\.toml.*line 2"):
        load_settings(environ={}, cwd=tmp_path)


def test_tool_keel_that_is_not_a_table_is_an_error(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool]\nkeel = "yes"\n')
    with pytest.raises(ConfigError, match=r"\[tool\.keel\] must be a table"):
        load_settings(environ={}, cwd=tmp_path)


@pytest.mark.parametrize(
    ("name", "text", "table", "source"),
    [
        pytest.param("custom.toml", 'table = "custom"\n', "custom", "keel.toml", id="keel_format"),
        pytest.param(
            "conf/pyproject.toml",
            pyproject('table = "tool_table"\n'),
            "tool_table",
            "pyproject.toml",
            id="pyproject_reads_tool_keel",
        ),
    ],
)
def test_config_path_uses_exactly_that_file(
    tmp_path: Path, name: str, text: str, table: str, source: str
) -> None:
    given = write(tmp_path / name, text)
    write(tmp_path / "keel.toml", 'table = "discovered"\nlock_mode = "table"\n')
    settings = load_settings(environ={}, cwd=tmp_path, config_path=Path(name))
    assert settings.table == table
    assert settings.lock_mode == "session"  # the discovered keel.toml is not read
    assert settings.sources["table"] == source
    assert settings.config_file == given
    assert settings.migrations_dir == given.parent / "migrations"


@pytest.mark.parametrize(
    ("name", "text", "words"),
    [
        pytest.param("missing.toml", None, ["missing.toml", "does not exist"], id="missing_file"),
        pytest.param(
            "pyproject.toml",
            pyproject(),
            ["pyproject.toml", "no [tool.keel] table"],
            id="pyproject_without_tool_keel",
        ),
        pytest.param("folder", "", ["folder", "not a file"], id="directory"),
    ],
)
def test_config_path_errors(tmp_path: Path, name: str, text: str | None, words: list[str]) -> None:
    if name == "folder":
        (tmp_path / name).mkdir()
    elif text is not None:
        write(tmp_path / name, text)
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={}, cwd=tmp_path, config_path=tmp_path / name)
    for word in words:
        assert word in str(caught.value)


@pytest.mark.parametrize(
    ("value", "environ", "database"),
    [
        pytest.param("${DB_URL}", {"DB_URL": "sqlite:////x.db"}, "/x.db", id="whole_value"),
        pytest.param(
            "sqlite:////${DIR}/${NAME}.db",
            {"DIR": "data", "NAME": "app"},
            "/data/app.db",
            id="several_references",
        ),
        pytest.param("${NOPE:-sqlite:////fallback.db}", {}, "/fallback.db", id="default_used"),
        pytest.param(
            "${EMPTY:-sqlite:////fallback.db}",
            {"EMPTY": ""},
            "/fallback.db",
            id="default_used_when_empty",
        ),
        pytest.param(
            "${SET:-sqlite:////fallback.db}",
            {"SET": "sqlite:////set.db"},
            "/set.db",
            id="default_ignored_when_set",
        ),
        pytest.param(
            "sqlite:////$HOME/$x.db", {"HOME": "ignored"}, "/$HOME/$x.db", id="bare_dollar_kept"
        ),
    ],
)
def test_references_expand_from_the_environment(
    tmp_path: Path, value: str, environ: dict[str, str], database: str
) -> None:
    write(tmp_path / "keel.toml", f'url = "{value}"\n')
    settings = load_settings(environ=environ, cwd=tmp_path)
    assert settings.url is not None
    assert settings.url.database == database


@pytest.mark.parametrize(
    ("flags", "environ", "attribute", "expected"),
    [
        pytest.param(
            {},
            {"KEEL_URL": "postgresql://app:${PGPASSWORD}@db/app", "PGPASSWORD": "hunter2"},
            "url",
            "postgresql://app:***@db/app",
            id="in_environment_value",
        ),
        pytest.param(
            {"table": "${PREFIX}_history"},
            {"PREFIX": "shop"},
            "table",
            "shop_history",
            id="in_flag_value",
        ),
        pytest.param(
            {}, {"KEEL_LOCK_TIMEOUT": "${T:-2.5}"}, "lock_timeout", 2.5, id="before_number_check"
        ),
    ],
)
def test_references_expand_in_every_source(
    tmp_path: Path,
    flags: dict[str, object],
    environ: dict[str, str],
    attribute: str,
    expected: object,
) -> None:
    value = getattr(load_settings(flags=flags, environ=environ, cwd=tmp_path), attribute)
    assert (str(value) if attribute == "url" else value) == expected


def test_reference_expanding_to_nothing_falls_through_to_the_next_layer(tmp_path: Path) -> None:
    write(tmp_path / "keel.toml", 'url = "sqlite:////file.db"\n')
    settings = load_settings(environ={"KEEL_URL": "${UNSET:-}"}, cwd=tmp_path)
    assert settings.url is not None
    assert settings.url.database == "/file.db"
    assert settings.sources["url"] == "keel.toml"


def test_missing_variable_in_an_overridden_layer_is_not_an_error(tmp_path: Path) -> None:
    write(tmp_path / "keel.toml", 'url = "${DATABASE_PASSWORD_URL}"\n')
    settings = load_settings(flags={"url": "sqlite://"}, environ={}, cwd=tmp_path)
    assert settings.url is not None
    assert settings.url.is_memory


def config_error(**kwargs: Any) -> str:
    """The configuration error for these arguments. A bad URL does not stop load_settings
    (offline commands need none); it is kept in ``url_error`` for commands that connect."""
    try:
        settings = load_settings(**kwargs)
    except ConfigError as exc:
        return str(exc)
    assert settings.url is None and settings.url_error, "no configuration error"
    return settings.url_error


def test_an_unusable_url_waits_until_a_command_needs_the_database(tmp_path: Path) -> None:
    write(tmp_path / "keel.toml", 'url = "${DATABASE_URL}"\nlock_timeout = 5\n')
    settings = load_settings(environ={}, cwd=tmp_path)
    assert settings.url is None
    assert settings.url_error is not None and "DATABASE_URL is not set" in settings.url_error
    assert settings.lock_timeout == 5


@pytest.mark.parametrize(
    ("value", "words"),
    [
        pytest.param(
            "postgresql://app:hunter2@${DB_HOST}/app",
            ["${DB_HOST}", "DB_HOST is not set", "url", "keel.toml", "${DB_HOST:-default}"],
            id="unset_variable",
        ),
        pytest.param(
            "postgresql://app:hunter2@${1HOST}/app",
            ["malformed", "url", "keel.toml"],
            id="malformed_name",
        ),
        pytest.param(
            "postgresql://app:hunter2@${DB_HOST/app",
            ["malformed", "url", "keel.toml"],
            id="unclosed_reference",
        ),
        pytest.param(
            "postgresql://app:hunter2@${}/app", ["malformed", "url"], id="empty_reference"
        ),
    ],
)
def test_bad_reference_names_variable_and_key_but_not_the_value(
    tmp_path: Path, value: str, words: list[str]
) -> None:
    write(tmp_path / "keel.toml", f'url = "{value}"\n')
    message = config_error(environ={"EMPTY": ""}, cwd=tmp_path)
    for word in words:
        assert word in message
    assert "hunter2" not in message
    assert "postgresql://" not in message


def test_reference_to_an_empty_variable_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"table from environment variable KEEL_TABLE.*\$\{X\}"):
        load_settings(environ={"KEEL_TABLE": "${X}", "X": ""}, cwd=tmp_path)


@pytest.mark.parametrize(
    ("source", "expected_parent"),
    [
        pytest.param("keel.toml", "config", id="from_config_file_against_its_folder"),
        pytest.param("env", "cwd", id="from_environment_against_cwd"),
        pytest.param("flag", "cwd", id="from_flag_against_cwd"),
    ],
)
def test_relative_paths_resolve_against_their_source(
    tmp_path: Path, source: str, expected_parent: str
) -> None:
    config_dir = tmp_path / "project"
    cwd = config_dir / "sub" / "folder"
    cwd.mkdir(parents=True)
    write(config_dir / "keel.toml", 'url = "sqlite:///app.db"\nmigrations_dir = "sql"\n')
    environ: dict[str, str] = {}
    flags: dict[str, object] = {}
    if source == "env":
        environ = {"KEEL_URL": "sqlite:///app.db", "KEEL_MIGRATIONS_DIR": "sql"}
    elif source == "flag":
        flags = {"url": "sqlite:///app.db", "migrations_dir": Path("sql")}
    settings = load_settings(flags=flags, environ=environ, cwd=cwd)
    base = config_dir if expected_parent == "config" else cwd
    assert settings.migrations_dir == base / "sql"
    assert settings.url is not None
    assert settings.url.database == str(base / "app.db")
    assert settings.sources["migrations_dir"] == source


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("/abs/migrations", id="absolute"),
        pytest.param("../shared/migrations", id="parent_relative"),
    ],
)
def test_migrations_dir_is_always_absolute_and_normalised(tmp_path: Path, value: str) -> None:
    write(tmp_path / "app" / "keel.toml", f'migrations_dir = "{value}"\n')
    settings = load_settings(environ={}, cwd=tmp_path / "app")
    assert settings.migrations_dir.is_absolute()
    assert ".." not in settings.migrations_dir.parts
    if value.startswith("/"):
        assert settings.migrations_dir == Path(value)
    else:
        assert settings.migrations_dir == tmp_path / "shared" / "migrations"


def test_relative_cwd_is_made_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(environ={}, cwd=Path("."))
    assert settings.migrations_dir == tmp_path / "migrations"


@pytest.mark.parametrize(
    ("name", "text", "words"),
    [
        pytest.param(
            "keel.toml",
            'table = "t"\nlock_timeout = \nlock_mode = "table"\n',
            ["keel.toml", "not valid TOML", "line 2", "column"],
            id="missing_value_names_line_and_column",
        ),
        pytest.param(
            "keel.toml",
            'table = "t"\nurl = "sqlite:///x.db\n',
            ["keel.toml", "not valid TOML", "line 2"],
            id="unterminated_string",
        ),
        pytest.param(
            "keel.toml",
            'table = "t"\n[section\n',
            ["keel.toml", "not valid TOML", "line 2"],
            id="unclosed_table_header",
        ),
        pytest.param(
            "keel.toml",
            'url = """sqlite:///x.db\n\n',
            ["keel.toml", "not valid TOML", "end of document, line 3, column 1"],
            id="error_at_end_of_document_gets_a_line",
        ),
        pytest.param(
            "pyproject.toml",
            '[tool.keel]\ntable = "t"\ntable = "u"\n',
            ["pyproject.toml", "not valid TOML", "line 3"],
            id="duplicate_key_in_pyproject",
        ),
    ],
)
def test_invalid_toml_names_file_line_and_column(
    tmp_path: Path, name: str, text: str, words: list[str]
) -> None:
    write(tmp_path / name, text)
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={}, cwd=tmp_path)
    message = str(caught.value)
    for word in words:
        assert word in message
    assert str(tmp_path / name) in message


@pytest.mark.parametrize(
    ("name", "text", "key"),
    [
        pytest.param("keel.toml", 'tabel = "t"\n', "tabel", id="misspelt_key_in_keel_toml"),
        pytest.param("keel.toml", '[keel]\nurl = "sqlite://"\n', "keel", id="section_in_keel_toml"),
        pytest.param(
            "pyproject.toml", pyproject("dir = 'sql'\n"), "dir", id="unknown_key_in_tool_keel"
        ),
    ],
)
def test_unknown_key_names_key_file_and_valid_keys(
    tmp_path: Path, name: str, text: str, key: str
) -> None:
    write(tmp_path / name, text)
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={}, cwd=tmp_path)
    message = str(caught.value)
    assert f"Unknown key {key!r}" in message
    assert str(tmp_path / name) in message
    assert "url, migrations_dir, table, schema, lock_timeout, lock_mode" in message


def test_unknown_key_is_reported_even_when_every_value_is_overridden(tmp_path: Path) -> None:
    write(tmp_path / "keel.toml", "lock_timout = 5\n")
    with pytest.raises(ConfigError, match="lock_timout"):
        load_settings(flags={"lock_timeout": 1.0}, environ={}, cwd=tmp_path)


# (where the value is set, key, TOML or text value, words the message must contain)
BAD_VALUE_CASES = [
    pytest.param("file", "lock_timeout", '"abc"', ["lock_timeout", "keel.toml", "'abc'"],
                 id="timeout_not_a_number"),
    pytest.param("file", "lock_timeout", "-1", ["lock_timeout", "keel.toml", ">= 0", "-1"],
                 id="timeout_negative"),
    pytest.param("file", "lock_timeout", "true", ["lock_timeout", "a boolean"],
                 id="timeout_boolean"),
    pytest.param("file", "lock_timeout", "inf", ["lock_timeout", "inf"], id="timeout_infinite"),
    pytest.param("file", "lock_timeout", "nan", ["lock_timeout", "nan"], id="timeout_nan"),
    pytest.param("env", "lock_timeout", "soon", ["environment variable KEEL_LOCK_TIMEOUT"],
                 id="timeout_from_environment"),
    pytest.param("flag", "lock_timeout", "-3", ["--lock-timeout", ">= 0"],
                 id="timeout_from_flag"),
    pytest.param("file", "lock_mode", '"global"', ["lock_mode", '"session" or "table"', "global"],
                 id="lock_mode_unknown"),
    pytest.param("file", "lock_mode", '"Session"', ["lock_mode", "'Session'"],
                 id="lock_mode_is_case_sensitive"),
    pytest.param("env", "lock_mode", "lease", ["KEEL_LOCK_MODE", "'lease'"],
                 id="lock_mode_from_environment"),
    pytest.param("file", "lock_lease", "0.5", ["lock_lease", "keel.toml", "1 to 86400", "0.5"],
                 id="lease_below_a_second"),
    pytest.param("file", "lock_lease", '"long"', ["lock_lease", "'long'"],
                 id="lease_not_a_number"),
    pytest.param("env", "lock_lease", "inf", ["environment variable KEEL_LOCK_LEASE", "inf"],
                 id="lease_infinite_from_environment"),
    pytest.param("flag", "lock_lease", "-1", ["--lock-lease", "1 to 86400"], id="lease_from_flag"),
    pytest.param("file", "table", '"1history"', ["table", "identifier", "'1history'"],
                 id="table_starts_with_digit"),
    pytest.param("file", "table", '"keel-history"', ["table", "identifier"],
                 id="table_with_dash"),
    pytest.param("file", "table", '"' + "t" * 64 + '"', ["table", "63 characters"],
                 id="table_too_long"),
    pytest.param("file", "table", "42", ["table", "identifier", "42"], id="table_not_a_string"),
    pytest.param("file", "schema", '"my schema"', ["schema", "identifier"],
                 id="schema_with_space"),
    pytest.param("env", "schema", "a.b", ["KEEL_SCHEMA", "identifier"],
                 id="schema_from_environment"),
    pytest.param("file", "migrations_dir", "5", ["migrations_dir", "path string"],
                 id="migrations_dir_not_a_string"),
    pytest.param("file", "migrations_dir", '["a"]', ["migrations_dir", "an array"],
                 id="migrations_dir_array"),
    pytest.param("file", "url", "5", ["url", "keel.toml", "string"], id="url_not_a_string"),
    pytest.param("file", "url", '"postgresql://app:hunter2@db:99999/app"',
                 ["url from", "keel.toml", "invalid port"], id="url_bad_port_from_file"),
    pytest.param("env", "url", "oracle://app:hunter2@db/app",
                 ["url from environment variable KEEL_URL", "'oracle'"],
                 id="url_unknown_scheme_from_environment"),
    pytest.param("flag", "url", "db.example.com/app", ["url from the --url option", "://"],
                 id="url_without_scheme_from_flag"),
]  # fmt: skip


@pytest.mark.parametrize(("where", "key", "value", "words"), BAD_VALUE_CASES)
def test_bad_value_names_key_and_source(
    tmp_path: Path, where: str, key: str, value: str, words: list[str]
) -> None:
    flags: dict[str, object] = {}
    environ: dict[str, str] = {}
    if where == "file":
        write(tmp_path / "keel.toml", f"{key} = {value}\n")
    elif where == "env":
        environ = {"KEEL_URL" if key == "url" else f"KEEL_{key.upper()}": value}
    else:
        flags = {key: value}
    message = config_error(flags=flags, environ=environ, cwd=tmp_path)
    for word in words:
        assert word in message
    assert "hunter2" not in message


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        pytest.param("lock_timeout", "0", 0.0, id="timeout_zero_means_no_wait"),
        pytest.param("lock_timeout", "90", 90.0, id="timeout_integer_becomes_float"),
        pytest.param("lock_timeout", '" 2.5 "', 2.5, id="timeout_numeric_string"),
        pytest.param("lock_mode", '"table"', "table", id="lock_mode_table"),
        pytest.param("table", '"' + "t" * 63 + '"', "t" * 63, id="table_63_characters"),
        pytest.param("table", '"_keel_History2"', "_keel_History2", id="table_underscore_mixed"),
        pytest.param("schema", '"migrations"', "migrations", id="schema_identifier"),
    ],
)
def test_valid_values_are_accepted(tmp_path: Path, key: str, value: str, expected: object) -> None:
    write(tmp_path / "keel.toml", f"{key} = {value}\n")
    settings = load_settings(environ={}, cwd=tmp_path)
    assert getattr(settings, key) == expected
    assert type(getattr(settings, key)) is type(expected)


def test_unknown_flag_name_is_a_programming_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="dir"):
        load_settings(flags={"dir": "sql"}, environ={}, cwd=tmp_path)


def test_environment_defaults_to_os_environ(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEEL_TABLE", "from_os_environ")
    assert load_settings(cwd=tmp_path).table == "from_os_environ"


def test_init_config_text_comments_out_every_key(tmp_path: Path) -> None:
    text = init_config_text()
    for key in KEYS:
        assert re.search(rf"^# {key} = ", text, re.MULTILINE), key
    assert '# url = "${DATABASE_URL}"' in text
    write(tmp_path / "keel.toml", text)
    settings = load_settings(environ={}, cwd=tmp_path)
    assert settings.config_file == tmp_path / "keel.toml"
    assert set(settings.sources.values()) == {"default"}


def test_init_config_text_uncommented_gives_the_defaults(tmp_path: Path) -> None:
    uncommented = re.sub(r"^# (\w+ = )", r"\1", init_config_text(), flags=re.MULTILINE)
    write(tmp_path / "keel.toml", uncommented)
    settings = load_settings(environ={"DATABASE_URL": "sqlite:///app.db"}, cwd=tmp_path)
    assert settings.url is not None
    assert settings.url.database == str(tmp_path / "app.db")
    assert settings.migrations_dir == tmp_path / "migrations"
    assert (settings.table, settings.lock_timeout, settings.lock_mode, settings.lock_lease) == (
        "keel_history",
        60.0,
        "session",
        60.0,
    )
    assert settings.sources["lock_mode"] == "keel.toml"
    assert settings.sources["lock_lease"] == "keel.toml"

"""DatabaseURL parsing, scheme aliases and password masking (SPEC 8)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sqlkeel.errors import ConfigError
from sqlkeel.urls import DatabaseURL, mask_password, parse_url

SECRET = "hunter2"

# (url, scheme, username, password, host, port, database, query)
SERVER_CASES = [
    pytest.param(
        "postgresql://app:hunter2@db.example.com:5432/app",
        "postgresql", "app", "hunter2", "db.example.com", 5432, "app", {},
        id="postgresql_with_all_parts",
    ),
    pytest.param(
        "postgres://app@localhost/app",
        "postgresql", "app", None, "localhost", None, "app", {},
        id="postgres_alias_is_postgresql",
    ),
    pytest.param(
        "postgresql+psycopg2://app:hunter2@localhost/app",
        "postgresql", "app", "hunter2", "localhost", None, "app", {},
        id="driver_suffix_psycopg2_is_ignored",
    ),
    pytest.param(
        "postgresql+psycopg://localhost/app",
        "postgresql", None, None, "localhost", None, "app", {},
        id="driver_suffix_psycopg_is_ignored",
    ),
    pytest.param(
        "PostgreSQL://localhost/app",
        "postgresql", None, None, "localhost", None, "app", {},
        id="scheme_is_case_insensitive",
    ),
    pytest.param(
        "mysql://root:hunter2@127.0.0.1:3306/shop?charset=utf8mb4",
        "mysql", "root", "hunter2", "127.0.0.1", 3306, "shop", {"charset": "utf8mb4"},
        id="mysql_with_query",
    ),
    pytest.param(
        "mariadb://root@db/shop",
        "mysql", "root", None, "db", None, "shop", {},
        id="mariadb_alias_is_mysql",
    ),
    pytest.param(
        "mysql+pymysql://root:hunter2@db/shop",
        "mysql", "root", "hunter2", "db", None, "shop", {},
        id="driver_suffix_pymysql_is_ignored",
    ),
    pytest.param(
        "postgresql://ad%40min:p%40ss%2Fw%3Ard@host/my%20db",
        "postgresql", "ad@min", "p@ss/w:rd", "host", None, "my db", {},
        id="user_password_and_database_are_percent_decoded",
    ),
    pytest.param(
        "postgresql://app:p@ss/w?rd@host/app",
        "postgresql", "app", "p@ss/w?rd", "host", None, "app", {},
        id="unencoded_at_slash_question_mark_stay_in_the_password",
    ),
    pytest.param(
        "postgresql://app:hunter2@[::1]:5433/app",
        "postgresql", "app", "hunter2", "::1", 5433, "app", {},
        id="ipv6_host_with_port",
    ),
    pytest.param(
        "mysql://[2001:db8::7]/shop",
        "mysql", None, None, "2001:db8::7", None, "shop", {},
        id="ipv6_host_without_port",
    ),
    pytest.param(
        "postgresql:///app?host=/var/run/postgresql",
        "postgresql", None, None, None, None, "app", {"host": "/var/run/postgresql"},
        id="no_host_uses_socket_from_query",
    ),
    pytest.param(
        "postgresql://%2Fvar%2Frun%2Fpostgresql/app",
        "postgresql", None, None, "/var/run/postgresql", None, "app", {},
        id="percent_encoded_socket_directory_as_host",
    ),
    pytest.param(
        "mysql://root@localhost/shop?unix_socket=/tmp/mysql.sock&ssl=",
        "mysql", "root", None, "localhost", None, "shop",
        {"unix_socket": "/tmp/mysql.sock", "ssl": ""},
        id="query_keeps_blank_values",
    ),
    pytest.param(
        "postgresql://localhost",
        "postgresql", None, None, "localhost", None, None, {},
        id="no_database_is_none",
    ),
    pytest.param(
        "postgresql://app:@localhost/app",
        "postgresql", "app", None, "localhost", None, "app", {},
        id="empty_password_is_none",
    ),
    pytest.param(
        "mariadb://db/shop?application_name=deploy@ci",
        "mysql", None, None, "db", None, "shop", {"application_name": "deploy@ci"},
        id="at_sign_in_query_is_not_user_info",
    ),
    pytest.param(
        "  postgresql://localhost/app \n",
        "postgresql", None, None, "localhost", None, "app", {},
        id="surrounding_whitespace_is_stripped",
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    ("url", "scheme", "username", "password", "host", "port", "database", "query"),
    SERVER_CASES,
)
def test_parse_server_url_gives_its_parts(
    url: str,
    scheme: str,
    username: str | None,
    password: str | None,
    host: str | None,
    port: int | None,
    database: str | None,
    query: dict[str, str],
) -> None:
    parsed = parse_url(url)
    assert (
        parsed.scheme,
        parsed.username,
        parsed.password,
        parsed.host,
        parsed.port,
        parsed.database,
        parsed.query,
    ) == (scheme, username, password, host, port, database, query)
    assert parsed.raw == url.strip()
    assert not parsed.is_memory


@pytest.mark.parametrize(
    ("url", "database", "is_memory"),
    [
        pytest.param("sqlite:///app.db", "app.db", False, id="relative_path_stays_relative"),
        pytest.param("sqlite:///data/app.db", "data/app.db", False, id="relative_sub_path"),
        pytest.param("sqlite:////var/lib/app.db", "/var/lib/app.db", False, id="absolute_path"),
        pytest.param("sqlite:///:memory:", ":memory:", True, id="memory_with_path"),
        pytest.param("sqlite://", ":memory:", True, id="memory_without_path"),
        pytest.param("sqlite+pysqlite:///app.db", "app.db", False, id="driver_suffix_ignored"),
        pytest.param("sqlite:///my%20app.db", "my app.db", False, id="path_is_percent_decoded"),
        pytest.param("SQLITE:///app.db", "app.db", False, id="scheme_is_case_insensitive"),
    ],
)
def test_parse_sqlite_url_gives_path_or_memory(url: str, database: str, is_memory: bool) -> None:
    parsed = parse_url(url)
    assert parsed.scheme == "sqlite"
    assert parsed.database == database
    assert parsed.is_memory is is_memory
    assert (parsed.username, parsed.password, parsed.host, parsed.port) == (None, None, None, None)


@pytest.mark.parametrize(
    ("url", "relative"),
    [
        pytest.param("sqlite:///app.db", "app.db", id="file_in_base_dir"),
        pytest.param("sqlite:///data/app.db", "data/app.db", id="file_in_sub_folder"),
        pytest.param("sqlite:///../app.db", "../app.db", id="file_in_parent_folder"),
    ],
)
def test_parse_sqlite_relative_path_resolves_against_base_dir(
    tmp_path: Path, url: str, relative: str
) -> None:
    base = tmp_path / "project"
    parsed = parse_url(url, base_dir=base)
    assert parsed.database == os.path.normpath(base / relative)
    assert Path(parsed.database).is_absolute()
    assert parsed.masked() == url


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("sqlite:////abs/app.db", id="absolute_path"),
        pytest.param("sqlite:///:memory:", id="memory"),
        pytest.param("sqlite://", id="memory_without_path"),
    ],
)
def test_parse_sqlite_base_dir_leaves_absolute_and_memory_alone(tmp_path: Path, url: str) -> None:
    assert parse_url(url, base_dir=tmp_path).database == parse_url(url).database


def test_parse_sqlite_keeps_query_parameters() -> None:
    assert parse_url("sqlite:///app.db?mode=ro").query == {"mode": "ro"}


def test_parse_server_url_ignores_base_dir(tmp_path: Path) -> None:
    url = "postgresql://localhost/app"
    assert parse_url(url, base_dir=tmp_path) == parse_url(url)


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        pytest.param(
            "postgresql://app:hunter2@localhost:5432/app",
            "postgresql://app:***@localhost:5432/app",
            id="password_replaced",
        ),
        pytest.param(
            "postgresql+psycopg://app:hunter2@localhost/app",
            "postgresql+psycopg://app:***@localhost/app",
            id="driver_suffix_kept_as_given",
        ),
        pytest.param(
            "mysql://root:hun%40ter2@[::1]:3306/shop",
            "mysql://root:***@[::1]:3306/shop",
            id="percent_encoded_password_replaced",
        ),
        pytest.param(
            "postgresql://app:p@ss/w?rd@host/app?sslmode=require",
            "postgresql://app:***@host/app?sslmode=require",
            id="unencoded_special_characters_masked_whole",
        ),
        pytest.param(
            "postgresql://app@host/app?sslmode=require&password=hunter2",
            "postgresql://app@host/app?sslmode=require&password=***",
            id="password_query_parameter_replaced",
        ),
        pytest.param(
            "postgresql://app@localhost/app",
            "postgresql://app@localhost/app",
            id="no_password_unchanged",
        ),
        pytest.param(
            "postgresql://app:@localhost/app",
            "postgresql://app:@localhost/app",
            id="empty_password_unchanged",
        ),
        pytest.param("sqlite:///app.db", "sqlite:///app.db", id="sqlite_unchanged"),
        pytest.param("sqlite://", "sqlite://", id="sqlite_memory_unchanged"),
    ],
)
def test_masked_replaces_password_with_stars(url: str, masked: str) -> None:
    parsed = parse_url(url)
    assert parsed.masked() == masked
    assert str(parsed) == masked
    assert repr(parsed) == f"DatabaseURL({masked!r})"


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("postgresql://app:hunter2@localhost/app", id="postgresql"),
        pytest.param("mysql://root:hunter2@db:3306/shop", id="mysql"),
        pytest.param("postgresql://app@localhost/app?password=hunter2", id="query_parameter"),
        pytest.param("postgresql://app:hun@ter2@localhost/app", id="unencoded_at_in_password"),
    ],
)
def test_password_never_appears_in_str_repr_or_format(url: str) -> None:
    parsed = parse_url(url)
    for shown in (str(parsed), repr(parsed), f"{parsed}", parsed.masked(), repr([parsed])):
        assert "hun" not in shown
        assert "ter2" not in shown


def test_url_is_hashable_and_compares_by_value() -> None:
    first = parse_url("mysql://root@db/shop?charset=utf8mb4")
    second = parse_url("mysql://root@db/shop?charset=utf8mb4")
    assert first == second
    assert hash(first) == hash(second)
    assert len({first, second}) == 1


# (url, words the message must contain)
ERROR_CASES = [
    pytest.param("", ["empty", "Expected scheme://"], id="empty_url"),
    pytest.param("   ", ["empty", "Expected scheme://"], id="blank_url"),
    pytest.param(
        "localhost:5432/app", ["no '://'", "Expected scheme://"], id="no_scheme_separator"
    ),
    pytest.param(
        "postgresql:app:hunter2@localhost/app",
        ["no '://'", "Expected scheme://"],
        id="single_colon_after_scheme",
    ),
    pytest.param(
        "oracle://app:hunter2@localhost/app",
        ["'oracle'", "sqlite, postgresql", "mysql", "mariadb", "Expected scheme://"],
        id="unknown_scheme_lists_accepted_ones",
    ),
    pytest.param(
        "app:hunter2@localhost://app",
        ["valid scheme", "sqlite, postgresql", "Expected scheme://"],
        id="credentials_before_separator_are_not_echoed",
    ),
    pytest.param(
        "postgresql://app:hunter2@localhost:99999/app",
        ["invalid port", "1 to 65535", "Expected scheme://"],
        id="port_out_of_range",
    ),
    pytest.param(
        "postgresql://app:hunter2@localhost:0/app",
        ["invalid port", "Expected scheme://"],
        id="port_zero",
    ),
    pytest.param(
        "mysql://root:hunter2@db:abc/shop",
        ["invalid port", "Expected scheme://"],
        id="port_not_a_number",
    ),
    pytest.param(
        "mysql://root:hunter2@db:/shop",
        ["invalid port", "Expected scheme://"],
        id="port_empty",
    ),
    pytest.param(
        "postgresql://app:hunter2",
        ["invalid port", "percent-encode", "Expected scheme://"],
        id="password_without_host_is_not_echoed_as_port",
    ),
    pytest.param(
        "postgresql://::1/app",
        ["invalid port", "brackets", "Expected scheme://"],
        id="ipv6_without_brackets",
    ),
    pytest.param(
        "postgresql://app:hunter2@[::1/app",
        ["closing ']'", "Expected scheme://"],
        id="ipv6_without_closing_bracket",
    ),
    pytest.param(
        "postgresql://app:hunter2@[::1]x/app",
        ["after the IPv6 host", "Expected scheme://"],
        id="ipv6_followed_by_junk",
    ),
    pytest.param("sqlite:", ["no path", "Expected sqlite:///"], id="sqlite_colon_alone"),
    pytest.param("sqlite:app.db", ["no path", "Expected sqlite:///"], id="sqlite_single_colon"),
    pytest.param("sqlite:///", ["no path", "Expected sqlite:///"], id="sqlite_empty_path"),
    pytest.param(
        "sqlite://app.db",
        ["names a host", "sqlite:///app.db", "Expected sqlite:///"],
        id="sqlite_two_slashes",
    ),
]


@pytest.mark.parametrize(("url", "words"), ERROR_CASES)
def test_parse_url_error_says_expected_form_without_password(url: str, words: list[str]) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_url(url)
    message = str(caught.value)
    for word in words:
        assert word in message
    assert SECRET not in message
    assert "\n" not in message
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__ or caught.value.__context__ is None
    assert caught.value.exit_code == 2


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            'connection to server at "db" failed for postgresql://app:hunter2@db:5432/app',
            'connection to server at "db" failed for postgresql://app:***@db:5432/app',
            id="url_in_driver_message",
        ),
        pytest.param(
            "can't connect: mysql+pymysql://root:hunter2@[::1]:3306/shop (timeout)",
            "can't connect: mysql+pymysql://root:***@[::1]:3306/shop (timeout)",
            id="driver_suffix_and_ipv6",
        ),
        pytest.param(
            "bad dsn postgresql://app:hun@ter/2@db/app",
            "bad dsn postgresql://app:***@db/app",
            id="unencoded_at_and_slash_masked_whole",
        ),
        pytest.param(
            "from postgresql://a:hunter2@h1/x to mysql://b:hunter2@h2/y",
            "from postgresql://a:***@h1/x to mysql://b:***@h2/y",
            id="two_urls",
        ),
        pytest.param(
            "invalid dsn: host=db port=5432 user=app password=hunter2 dbname=app",
            "invalid dsn: host=db port=5432 user=app password=*** dbname=app",
            id="libpq_conninfo_password",
        ),
        pytest.param(
            "invalid dsn: host=db password='hunter2 with space' dbname=app",
            "invalid dsn: host=db password=*** dbname=app",
            id="quoted_conninfo_password",
        ),
        pytest.param(
            "postgresql://app@db/app?sslmode=require&password=hunter2",
            "postgresql://app@db/app?sslmode=require&password=***",
            id="query_password",
        ),
        pytest.param(
            'FATAL:  password authentication failed for user "app"',
            'FATAL:  password authentication failed for user "app"',
            id="plain_message_unchanged",
        ),
        pytest.param(
            "postgresql://app@db:5432/app is down",
            "postgresql://app@db:5432/app is down",
            id="url_without_password_unchanged",
        ),
    ],
)
def test_mask_password_hides_passwords_in_driver_messages(text: str, expected: str) -> None:
    assert mask_password(text) == expected


def test_database_url_can_be_built_directly_and_still_masks() -> None:
    url = DatabaseURL(
        "postgresql", "postgresql://u:hunter2@h/d", "u", "hunter2", "h", None, "d", {}
    )
    assert SECRET not in repr(url)
    assert SECRET not in str(url)

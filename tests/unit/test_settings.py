"""Service settings: ``LITCOMP_*`` environment variables, validated once at start."""

import os
import socket
from pathlib import Path

import pytest
from pydantic import ValidationError

from litcomp.competitions.settings import CompetitionsSettings
from litcomp.kit.settings import SettingsError, load_settings, normalise_database_url
from litcomp.users.settings import UsersSettings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No LITCOMP_ variable from the outer environment may leak into a test."""
    for name in list(os.environ):
        if name.upper().startswith("LITCOMP_"):
            monkeypatch.delenv(name)
    # The default var dir is relative: resolve it against a directory of our own.
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def var_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    directory = tmp_path / "state"
    monkeypatch.setenv("LITCOMP_VAR_DIR", str(directory))
    return directory


def settings_error(cls: type[UsersSettings] | type[CompetitionsSettings]) -> str:
    with pytest.raises(SettingsError) as caught:
        load_settings(cls)
    message = caught.value.code
    assert isinstance(message, str)
    assert message.startswith("invalid litcomp settings")
    return message


class TestDefaults:
    def test_users_database_is_sqlite_in_the_var_dir(self, var_dir: Path) -> None:
        settings = load_settings(UsersSettings)
        assert settings.var_dir == var_dir
        assert settings.users_database_url == f"sqlite+aiosqlite:///{var_dir / 'users.db'}"
        assert settings.jwt_private_key_file == var_dir / "jwt-signing-key.pem"

    def test_competitions_database_is_sqlite_in_the_var_dir(self, var_dir: Path) -> None:
        settings = load_settings(CompetitionsSettings)
        assert settings.competitions_database_url == (
            f"sqlite+aiosqlite:///{var_dir / 'competitions.db'}"
        )

    def test_without_var_dir_everything_lives_under_var(self) -> None:
        users = load_settings(UsersSettings)
        competitions = load_settings(CompetitionsSettings)
        assert users.var_dir == Path("var")
        assert users.users_database_url == "sqlite+aiosqlite:///var/users.db"
        assert users.jwt_private_key_file == Path("var/jwt-signing-key.pem")
        assert competitions.competitions_database_url == "sqlite+aiosqlite:///var/competitions.db"

    def test_users_defaults(self) -> None:
        settings = load_settings(UsersSettings)
        assert settings.users_http_port == 0  # any free port; discovery tells the rest
        assert settings.users_grpc_port == 0
        assert settings.discovery_url == "http://127.0.0.1:8500"
        assert settings.balancer == "least_load"
        assert settings.jwt_ttl_seconds == 3600
        assert settings.jwt_issuer == "litcomp-users"
        assert settings.log_level == "INFO"
        assert settings.host == "127.0.0.1"

    def test_competitions_defaults(self) -> None:
        settings = load_settings(CompetitionsSettings)
        assert settings.competitions_http_port == 0
        assert settings.competitions_grpc_port == 0
        assert settings.redis_url is None
        assert settings.jwt_issuer == "litcomp-users"

    def test_public_host_is_the_bound_host_unless_it_is_a_wildcard(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        assert load_settings(UsersSettings).public_host == "127.0.0.1"
        monkeypatch.setenv("LITCOMP_HOST", "0.0.0.0")
        # Then this machine's address, not its name: callers look nothing up.
        address = socket.gethostbyname(socket.gethostname())
        assert load_settings(UsersSettings).public_host == address
        monkeypatch.setenv("LITCOMP_ADVERTISE_HOST", "users-1.internal")
        assert load_settings(UsersSettings).public_host == "users-1.internal"

    def test_public_host_is_the_name_when_it_has_no_address(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("LITCOMP_HOST", "0.0.0.0")
        monkeypatch.setattr(socket, "gethostname", lambda: "no-such-host.invalid")
        assert load_settings(UsersSettings).public_host == "no-such-host.invalid"

    def test_settings_are_frozen(self) -> None:
        settings = load_settings(UsersSettings)
        with pytest.raises(ValidationError):
            settings.users_http_port = 1


class TestFromEnvironment:
    def test_values_are_read_from_litcomp_variables(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("LITCOMP_USERS_HTTP_PORT", "9001")
        monkeypatch.setenv("LITCOMP_JWT_TTL_SECONDS", "600")
        monkeypatch.setenv("LITCOMP_HOST", "0.0.0.0")
        settings = load_settings(UsersSettings)
        assert settings.users_http_port == 9001
        assert settings.jwt_ttl_seconds == 600
        assert settings.host == "0.0.0.0"

    def test_unprefixed_variables_are_ignored(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("USERS_HTTP_PORT", "9001")
        assert load_settings(UsersSettings).users_http_port == 0

    def test_log_level_is_case_insensitive(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("LITCOMP_LOG_LEVEL", "debug")
        assert load_settings(UsersSettings).log_level == "DEBUG"

    def test_each_service_reads_only_its_own_database_url(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("LITCOMP_USERS_DATABASE_URL", "postgresql://db/users")
        competitions = load_settings(CompetitionsSettings)
        assert competitions.competitions_database_url.startswith("sqlite+aiosqlite:///")


class TestDatabaseUrls:
    @pytest.mark.parametrize(
        ("given", "expected"),
        [
            ("postgres://u:p@db:5432/users", "postgresql+asyncpg://u:p@db:5432/users"),
            ("postgresql://u:p@db:5432/users", "postgresql+asyncpg://u:p@db:5432/users"),
            ("postgresql+asyncpg://u:p@db/users", "postgresql+asyncpg://u:p@db/users"),
            ("sqlite:///relative/users.db", "sqlite+aiosqlite:///relative/users.db"),
            ("sqlite:////abs/users.db", "sqlite+aiosqlite:////abs/users.db"),
            ("sqlite+aiosqlite:///users.db", "sqlite+aiosqlite:///users.db"),
        ],
    )
    def test_urls_are_normalised_to_the_async_drivers(
        self, monkeypatch: pytest.MonkeyPatch, given: str, expected: str
    ) -> None:
        monkeypatch.setenv("LITCOMP_USERS_DATABASE_URL", given)
        monkeypatch.setenv("LITCOMP_COMPETITIONS_DATABASE_URL", given)
        assert load_settings(UsersSettings).users_database_url == expected
        assert load_settings(CompetitionsSettings).competitions_database_url == expected

    def test_normalising_is_idempotent(self) -> None:
        once = normalise_database_url("postgres://db/users")
        assert normalise_database_url(once) == once

    @pytest.mark.parametrize(
        "url",
        [
            "mysql://u:p@db/users",
            "postgresql+psycopg://db/users",
            "sqlite://",
            "users.db",
            "",
            "http://db/users",
        ],
    )
    def test_other_urls_are_refused(self, url: str) -> None:
        with pytest.raises(ValueError, match=r"postgresql:// or sqlite:///"):
            normalise_database_url(url)


class TestLoadSettingsErrors:
    def test_mysql_url_names_the_variable(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("LITCOMP_USERS_DATABASE_URL", "mysql://root:s3cret-pw@db/users")
        message = settings_error(UsersSettings)
        assert "LITCOMP_USERS_DATABASE_URL" in message
        assert "s3cret-pw" not in message, "the message must not print the password"

    def test_mysql_url_for_competitions_names_its_variable(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("LITCOMP_COMPETITIONS_DATABASE_URL", "mysql://db/competitions")
        assert "LITCOMP_COMPETITIONS_DATABASE_URL" in settings_error(CompetitionsSettings)

    def test_non_integer_port_names_the_variable(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("LITCOMP_USERS_HTTP_PORT", "eighty")
        message = settings_error(UsersSettings)
        assert "LITCOMP_USERS_HTTP_PORT" in message
        assert "(1)" in message

    @pytest.mark.parametrize("port", ["-1", "65536", "8001.5"])
    def test_out_of_range_port_names_the_variable(
        self, monkeypatch: pytest.MonkeyPatch, port: str
    ) -> None:
        monkeypatch.setenv("LITCOMP_COMPETITIONS_GRPC_PORT", port)
        assert "LITCOMP_COMPETITIONS_GRPC_PORT" in settings_error(CompetitionsSettings)

    def test_unknown_log_level_names_the_variable(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("LITCOMP_LOG_LEVEL", "LOUD")
        assert "LITCOMP_LOG_LEVEL" in settings_error(UsersSettings)

    def test_too_short_token_lifetime_names_the_variable(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("LITCOMP_JWT_TTL_SECONDS", "4")
        assert "LITCOMP_JWT_TTL_SECONDS" in settings_error(UsersSettings)

    def test_every_bad_variable_is_reported_at_once(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("LITCOMP_USERS_HTTP_PORT", "x")
        monkeypatch.setenv("LITCOMP_USERS_GRPC_PORT", "y")
        monkeypatch.setenv("LITCOMP_USERS_DATABASE_URL", "mysql://db/users")
        message = settings_error(UsersSettings)
        assert message.splitlines()[0] == "invalid litcomp settings (3):"
        for name in (
            "LITCOMP_USERS_HTTP_PORT",
            "LITCOMP_USERS_GRPC_PORT",
            "LITCOMP_USERS_DATABASE_URL",
        ):
            assert sum(name in line for line in message.splitlines()) == 1

    def test_settings_error_exits_the_process(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("LITCOMP_USERS_HTTP_PORT", "eighty")
        with pytest.raises(SystemExit) as caught:
            load_settings(UsersSettings)
        assert isinstance(caught.value, SettingsError)
        assert caught.value.code != 0

import os
from pathlib import Path

from pydantic import Field

from litcomp.kit.settings import (
    BaseServiceSettings,
    DatabaseUrl,
    embedded_database,
    in_var_dir,
    load_settings,
)

# A hash takes ~0.1 s of a core (argon2id, 64 MiB), so the last of the 4 per core that
# wait behind the one running is done ~0.5 s after it arrived (1.4 s on a 2-core machine
# where two hashes at a time took 0.27 s each): within the gateway's deadline
# (LITCOMP_GATEWAY_TIMEOUT_SECONDS, 5 s) with room for a machine several times as busy.
_PASSWORDS_WAITING_PER_CORE = 4


class UsersSettings(BaseServiceSettings):
    users_database_url: DatabaseUrl = Field(default_factory=embedded_database("users"))
    users_http_port: int = Field(0, ge=0, le=65535, description="0: any free port")
    users_grpc_port: int = Field(0, ge=0, le=65535, description="0: any free port")
    jwt_private_key_file: Path = Field(default_factory=in_var_dir("jwt-signing-key.pem"))
    jwt_ttl_seconds: int = Field(
        3600,
        ge=5,
        le=30 * 24 * 3600,
        description="how long an access token lives (the web app renews it before then)",
    )
    refresh_ttl_seconds: int = Field(
        30 * 24 * 3600,
        ge=60,
        le=365 * 24 * 3600,
        description="how long a refresh token lives; each refresh issues a new one",
    )
    password_queue: int = Field(
        default_factory=lambda: _PASSWORDS_WAITING_PER_CORE * (os.cpu_count() or 1),
        ge=0,
        le=10_000,
        description="how many password checks (login, sign-up, password change) may wait "
        "while one per core runs; past that they are refused at once, 503 with Retry-After "
        "(default: 4 per core)",
    )
    public_url: str = Field(
        "http://127.0.0.1:8000",
        pattern=r"^https?://[^/?#]+(/[^?#]*)?$",
        description="the web app's address, for the links in mails",
    )
    smtp_url: str | None = Field(
        None,
        pattern=r"^smtps?://",
        description="smtp://[user:password@]host[:port] (STARTTLS when offered) or smtps:// "
        "(TLS); unset: each mail is written as an .eml file in LITCOMP_MAIL_DIR",
    )
    mail_dir: Path = Field(default_factory=in_var_dir("mail"))
    mail_from: str = Field("litcomp <no-reply@litcomp.localhost>", min_length=3)
    mail_poll_seconds: float = Field(
        default=5.0,
        gt=0,
        le=300,
        description="how often the mail outbox is looked at (a mail is sent at once; "
        "this is for what waits for a retry)",
    )
    moderation_outbox_poll_seconds: float = Field(
        default=2.0,
        gt=0,
        le=300,
        description="how often the moderation outbox is looked at (an act is sent at "
        "once; this is for what waited for competitions)",
    )


def get_settings() -> UsersSettings:
    return load_settings(UsersSettings)

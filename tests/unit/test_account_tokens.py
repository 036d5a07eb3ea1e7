"""Account tokens (users/tokens.py): minted from an id and a derived secret, good only
for their purpose; and the mails that carry them (users/mail.py)."""

import uuid
from collections.abc import Callable
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from litcomp.kit.auth import SigningKey
from litcomp.users import tokens
from litcomp.users.mail import FileTransport, SmtpTransport, letter, message
from litcomp.users.models import MailOutbox

SECRET = b"s" * 32


def test_a_token_gives_back_its_id() -> None:
    token_id = uuid.uuid4()
    token = tokens.mint(SECRET, tokens.REFRESH, token_id)
    assert tokens.token_id(SECRET, tokens.REFRESH, token) == token_id
    assert token.startswith(token_id.hex + ".")


def test_a_token_is_good_for_its_purpose_and_secret_only() -> None:
    token = tokens.mint(SECRET, tokens.RESET_PASSWORD, uuid.uuid4())
    assert tokens.token_id(SECRET, tokens.VERIFY_EMAIL, token) is None
    assert tokens.token_id(b"t" * 32, tokens.RESET_PASSWORD, token) is None


@pytest.mark.parametrize(
    "tamper",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),
        lambda t: uuid.uuid4().hex + t[32:],
        lambda t: t.upper(),
        lambda t: t.split(".")[0],
        lambda t: t + ".",
        lambda t: "",
        lambda t: "é" * 40 + t[32:],
        lambda t: t[:32] + ".é",
        lambda t: "{" + t[:32] + "}" + t[32:],
    ],
)
def test_a_tampered_token_is_none(tamper: Callable[[str], str]) -> None:
    token = tokens.mint(SECRET, tokens.REFRESH, uuid.uuid4())
    assert tokens.token_id(SECRET, tokens.REFRESH, tamper(token)) is None


def test_secrets_are_derived_from_the_signing_key_per_purpose() -> None:
    key = SigningKey.from_pem(_pem(Ed25519PrivateKey.generate()))
    other = SigningKey.from_pem(_pem(Ed25519PrivateKey.generate()))
    assert key.derive_secret("a") == key.derive_secret("a")
    assert len(key.derive_secret("a")) == 32
    assert key.derive_secret("a") != key.derive_secret("b")
    assert key.derive_secret("a") != other.derive_secret("a")


def _pem(private: Ed25519PrivateKey) -> bytes:
    return private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def test_a_reset_mail_carries_the_recomputed_token_in_text_and_html() -> None:
    row = MailOutbox(
        kind=tokens.RESET_PASSWORD,
        recipient="ann@example.com",
        username="ann<b>",
        token_id=uuid.uuid4(),
        detail="",
    )
    mail = message(letter(row, secret=SECRET, public_url="https://litcomp.example/"), sender="x@y")
    token = tokens.mint(SECRET, tokens.RESET_PASSWORD, row.token_id)
    text = mail.get_body(("plain",))
    markup = mail.get_body(("html",))
    assert text is not None and markup is not None
    assert f"https://litcomp.example/password/reset?token={token}" in text.get_content()
    assert token in markup.get_content()
    assert "ann&lt;b&gt;" in markup.get_content()  # names are escaped in HTML
    assert mail["To"] == "ann@example.com"


def test_a_notice_has_no_link() -> None:
    row = MailOutbox(
        kind="email_changed", recipient="old@example.com", username="ann", detail="new@example.com"
    )
    built = letter(row, secret=SECRET, public_url="http://x")
    assert built.link is None
    assert any("new@example.com" in p for p in built.paragraphs)


async def test_file_transport_writes_whole_eml_files(tmp_path: Path) -> None:
    row = MailOutbox(kind="email_changed", recipient="a@example.com", username="a", detail="b@c.d")
    mail = message(letter(row, secret=SECRET, public_url="http://x"), sender="x@y")
    await FileTransport(tmp_path / "mail").send(mail)
    [written] = list((tmp_path / "mail").iterdir())
    assert written.suffix == ".eml"
    assert message_from_bytes(written.read_bytes(), policy=policy.default)["To"] == "a@example.com"


def test_smtp_urls() -> None:
    plain = SmtpTransport("smtp://mail.example:2525")
    assert (plain._host, plain._port, plain._tls, plain._user) == (
        "mail.example",
        2525,
        False,
        None,
    )
    secure = SmtpTransport("smtps://me%40x:p%3Ass@mail.example")
    assert (secure._port, secure._tls, secure._user, secure._password) == (
        465,
        True,
        "me@x",
        "p:ss",
    )

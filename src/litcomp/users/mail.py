"""The mail sender: messages the users service owes (reset links, address checks,
notices) leave its database over SMTP, or as .eml files where no server is set.

An act that calls for a message writes a ``mail_outbox`` row in its own transaction
(``service.py``); no request waits for a mail server. This worker, on any replica,
takes the rows that are due, oldest first: it leases a row (pushes its
``next_attempt_at`` a minute on, so another replica leaves it alone), builds the
message (recomputing the token from the row's token id: the outbox holds no
secret), sends it and deletes the row. A send that fails (the server is down,
refuses) puts the row off 2, 4, 8, ... up to 300 s, and the rows behind it go on; a
replica that dies mid-send leaves the row to be sent again when the lease ends. So a
message is sent at least once, never lost.
"""

import asyncio
import html
import logging
import os
import tempfile
import uuid
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlencode, urlsplit

import aiosmtplib
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from litcomp.kit.background import Worker, retry_delay
from litcomp.kit.db import is_outage
from litcomp.kit.times import utcnow
from litcomp.users import tokens
from litcomp.users.models import MailOutbox

log = logging.getLogger(__name__)

SMTP_TIMEOUT = 30.0  # seconds a step of an SMTP exchange may take
LEASE = timedelta(seconds=4 * SMTP_TIMEOUT)  # longer than any send takes

# The kind of a message: its subject, the web app page its link opens (None: no link),
# and its paragraphs ({username}, {detail} filled in).
KINDS: dict[str, tuple[str, str | None, tuple[str, ...]]] = {
    tokens.RESET_PASSWORD: (
        "Reset your litcomp password",
        "/password/reset",
        (
            "Someone (we hope you) asked to reset the password of your litcomp account.",
            "Follow the link within 30 minutes to choose a new one. It works once.",
            "If it was not you, ignore this message: your password stays as it is.",
        ),
    ),
    tokens.VERIFY_EMAIL: (
        "Confirm your email address for litcomp",
        "/email/confirm",
        (
            "Welcome to litcomp! Confirm that this address is yours by following the link.",
            "If you did not sign up, ignore this message.",
        ),
    ),
    tokens.CHANGE_EMAIL: (
        "Confirm your new email address for litcomp",
        "/email/confirm",
        (
            "You asked to use this address for your litcomp account.",
            "Follow the link within an hour to confirm it. Until then the old one stays.",
        ),
    ),
    "email_changed": (
        "Your litcomp email address is about to change",
        None,
        (
            "Someone signed in to your litcomp account asked to use {detail} instead of "
            "this address. The change takes place once they follow the link sent there.",
            "If it was not you, log in and change your password now.",
        ),
    ),
}


@dataclass(frozen=True)
class Letter:
    """What a message says, before it is a MIME message."""

    to: str
    subject: str
    paragraphs: tuple[str, ...]
    link: str | None


def letter(row: MailOutbox, *, secret: bytes, public_url: str) -> Letter:
    """The message a row stands for; its link carries the token minted from the row's
    token id (recomputed here, never stored)."""
    subject, page, paragraphs = KINDS[row.kind]
    link = None
    if page is not None and row.token_id is not None:
        token = tokens.mint(secret, row.kind, row.token_id)
        link = f"{public_url.rstrip('/')}{page}?{urlencode({'token': token})}"
    filled = tuple(p.format(username=row.username, detail=row.detail) for p in paragraphs)
    return Letter(row.recipient, subject, (f"Hello {row.username},", *filled), link)


def message(letter: Letter, *, sender: str) -> EmailMessage:
    """Text and HTML bodies of one letter."""
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = letter.to
    mail["Subject"] = letter.subject
    mail["Message-ID"] = make_msgid(domain="litcomp")
    text = list(letter.paragraphs)
    markup = [f"<p>{html.escape(p)}</p>" for p in letter.paragraphs]
    if letter.link is not None:
        text.insert(2, letter.link)
        link = html.escape(letter.link, quote=True)
        markup.insert(2, f'<p><a href="{link}">{link}</a></p>')
    mail.set_content("\n\n".join(text) + "\n\n-- \nlitcomp\n")
    mail.add_alternative(
        "<!doctype html><html><body>" + "".join(markup) + "<p>&mdash; litcomp</p></body></html>",
        subtype="html",
    )
    return mail


class Transport(Protocol):
    async def send(self, mail: EmailMessage) -> None: ...


class SmtpTransport:
    """Sends over SMTP: ``smtp://`` (upgraded with STARTTLS when the server offers it)
    or ``smtps://`` (TLS from the start), with ``user:password@`` when given."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self._tls = parts.scheme == "smtps"
        self._host = parts.hostname or "localhost"
        self._port = parts.port or (465 if self._tls else 25)
        self._user = unquote(parts.username) if parts.username else None
        self._password = unquote(parts.password) if parts.password else None

    async def send(self, mail: EmailMessage) -> None:
        await aiosmtplib.send(
            mail,
            hostname=self._host,
            port=self._port,
            username=self._user,
            password=self._password,
            use_tls=self._tls,
            timeout=SMTP_TIMEOUT,
        )


class FileTransport:
    """Writes each message as ``<directory>/<time>-<id>.eml`` (what ``make up`` does:
    no mail server needed), and logs where."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory

    async def send(self, mail: EmailMessage) -> None:
        path = await asyncio.to_thread(self._write, mail)
        log.info("mail written", extra={"path": str(path), "to": mail["To"]})

    def _write(self, mail: EmailMessage) -> Path:
        self._directory.mkdir(parents=True, exist_ok=True)
        name = f"{utcnow():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:12]}.eml"
        path = self._directory / name
        # Whole or not at all: a reader never sees half a message.
        descriptor, temporary = tempfile.mkstemp(dir=self._directory, prefix=".mail-")
        with os.fdopen(descriptor, "wb") as file:
            file.write(mail.as_bytes())
        os.replace(temporary, path)
        return path


class MailSender(Worker):
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        transport: Transport,
        *,
        secret: bytes,
        public_url: str,
        sender: str,
        poll_seconds: float,
    ) -> None:
        super().__init__(poll_seconds=poll_seconds)
        self._sessionmaker = sessionmaker
        self._transport = transport
        self._secret = secret
        self._public_url = public_url
        self._sender = sender

    async def work(self) -> int:
        """Send what is due; how many messages were sent. Never raises (but cancellation)."""
        sent = 0
        try:
            while (row := await self._lease()) is not None:
                sent += await self._send(row)
        except Exception as error:
            if not is_outage(error):
                log.exception("the mail sender failed; its messages stay and are sent later")
        return sent

    async def _lease(self) -> MailOutbox | None:
        """The oldest due row, now ours for ``LEASE``; None when none is due."""
        async with self._sessionmaker() as session:
            while True:
                now = utcnow()
                due = sa.or_(
                    MailOutbox.next_attempt_at.is_(None), MailOutbox.next_attempt_at <= now
                )
                row = await session.scalar(
                    sa.select(MailOutbox).where(due).order_by(MailOutbox.created_at).limit(1)
                )
                if row is None:
                    return None
                taken = await session.execute(
                    sa.update(MailOutbox)
                    .where(MailOutbox.id == row.id, due)
                    .values(next_attempt_at=now + LEASE)
                    .execution_options(synchronize_session=False)
                )
                await session.commit()
                if taken.rowcount == 1:  # type: ignore[attr-defined]
                    return row
                # another replica leased it first: look for the next one

    async def _send(self, row: MailOutbox) -> int:
        mail = message(
            letter(row, secret=self._secret, public_url=self._public_url), sender=self._sender
        )
        try:
            await self._transport.send(mail)
        except (OSError, aiosmtplib.SMTPException) as error:
            delay = retry_delay(row.attempts)
            log.warning(
                "a mail could not be sent; tried again in %d s: %r",
                delay.total_seconds(),
                error,
                extra={"kind": row.kind},
            )
            await self._settle(
                sa.update(MailOutbox)
                .where(MailOutbox.id == row.id)
                .values(attempts=MailOutbox.attempts + 1, next_attempt_at=utcnow() + delay)
            )
            return 0
        await self._settle(sa.delete(MailOutbox).where(MailOutbox.id == row.id))
        return 1

    async def _settle(self, statement: sa.Executable) -> None:
        async with self._sessionmaker() as session:
            await session.execute(statement)
            await session.commit()


def transport_for(smtp_url: str | None, mail_dir: Path) -> Transport:
    return SmtpTransport(smtp_url) if smtp_url else FileTransport(mail_dir)

"""A real SMTP server (aiosmtpd) in the test process, and what reached it."""

import re
import threading
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any
from urllib.parse import parse_qs, urlsplit

from aiosmtpd.controller import Controller

from litcomp.launcher import free_port, wait_until


class Mailbox:
    """Every message an SMTP server on 127.0.0.1:``port`` received, while started."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.messages: list[EmailMessage] = []
        self._lock = threading.Lock()
        self._controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        mail = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(mail, EmailMessage)
        with self._lock:
            self.messages.append(mail)
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        with self._lock:
            return [m for m in self.messages if m["To"] == address]

    def wait_for(self, address: str, subject: str = "", count: int = 1) -> EmailMessage:
        """The ``count``-th message to ``address`` whose subject holds ``subject``."""
        found: list[EmailMessage] = []

        def arrived() -> bool:
            found[:] = [m for m in self.to(address) if subject in m["Subject"]]
            return len(found) >= count

        wait_until(arrived, f"mail {count} to {address} ({subject!r})", timeout=15)
        return found[count - 1]


def text_of(mail: EmailMessage) -> str:
    body = mail.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content())


def html_of(mail: EmailMessage) -> str:
    body = mail.get_body(preferencelist=("html",))
    assert body is not None
    return str(body.get_content())


def link_in(mail: EmailMessage) -> str:
    found = re.search(r"https?://\S+", text_of(mail))
    assert found, text_of(mail)
    return found.group(0)


def token_in(mail: EmailMessage) -> str:
    return parse_qs(urlsplit(link_in(mail)).query)["token"][0]  # /password/reset?token=...

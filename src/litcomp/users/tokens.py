"""The secrets the users service hands out besides JWTs: refresh tokens, and the
tokens mailed to reset a password or confirm an address.

A token is ``<id>.<MAC>``: the row's id and an HMAC of it (and of what the token is
for) under a secret derived from the JWT signing key. The database keeps only the id
(and the row says what it is for), so whoever reads the database, a backup or the
mail outbox cannot use what they read; the sender recomputes a mailed token from its
id when it builds the message; nothing but the holder ever has the whole token.
"""

import base64
import hmac
import uuid

# What a token is for; a token made for one purpose is no good for another.
REFRESH = "refresh"
RESET_PASSWORD = "reset_password"
VERIFY_EMAIL = "verify_email"
CHANGE_EMAIL = "change_email"
MAILED = (RESET_PASSWORD, VERIFY_EMAIL, CHANGE_EMAIL)


def mint(secret: bytes, purpose: str, token_id: uuid.UUID) -> str:
    return f"{token_id.hex}.{_mac(secret, purpose, token_id)}"


def token_id(secret: bytes, purpose: str, token: str) -> uuid.UUID | None:
    """The id of a token minted for ``purpose`` with ``secret``; None for anything else
    (malformed, forged, minted for another purpose)."""
    id_part, dot, mac = token.partition(".")
    if not dot or len(id_part) != 32 or not mac.isascii():
        return None
    try:
        found = uuid.UUID(hex=id_part)
    except ValueError:
        return None
    if found.hex != id_part or not hmac.compare_digest(mac, _mac(secret, purpose, found)):
        return None
    return found


def _mac(secret: bytes, purpose: str, token_id: uuid.UUID) -> str:
    digest = hmac.new(secret, f"{purpose}:{token_id.hex}".encode(), "sha256").digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

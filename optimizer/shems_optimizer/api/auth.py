"""Bearer-token authentication, with the Supervisor's ingress proxy as the one trusted peer.

The token is made on first start and kept in the data directory (``api_token``, mode 0600), so it
survives restarts and upgrades; rotating it writes a new one atomically and the old one stops working
at once. Requests from the ingress proxy (172.30.32.2 in a Home Assistant installation) were already
authenticated by Home Assistant and are trusted without a token.
"""

from __future__ import annotations

import functools
import hmac
import ipaddress
import logging
import os
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from shems_optimizer.app.config import INGRESS_PEER

_LOGGER = logging.getLogger(__name__)
TOKEN_FILE = "api_token"


class TokenStore:
    """The API token in ``data_dir/api_token``; created when missing, replaced by :meth:`rotate`."""

    def __init__(self, data_dir: Path) -> None:
        self._path = data_dir / TOKEN_FILE
        self._lock = threading.Lock()
        self.created = False  # True when this start made the token (the service logs it once)
        self._token = self._load_or_create()
        self._listeners: list[Callable[[], None]] = []

    def on_change(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` after every rotation or installation (e.g. to close open streams)."""
        self._listeners.append(listener)

    def _changed(self) -> None:
        for listener in list(self._listeners):
            listener()

    @property
    def path(self) -> Path:
        return self._path

    @property
    def token(self) -> str:
        return self._token

    def _load_or_create(self) -> str:
        if self._path.exists():
            token = self._path.read_text(encoding="utf-8").strip()
            if token:
                return token
        token = self._write_new()
        self.created = True
        return token

    def install(self, token: str) -> None:
        """Use a given token instead of a generated one (tests and provisioning)."""
        if len(token) < 1:
            raise ValueError("an API token cannot be empty")
        with self._lock:
            self._token = self._write_new(token)
        self._changed()

    def _write_new(self, token: str | None = None) -> str:
        token = token or secrets.token_urlsafe(32)
        self._path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._path.with_name(f".{TOKEN_FILE}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(token + "\n")
        tmp.replace(self._path)
        return token

    def rotate(self) -> str:
        with self._lock:
            self._token = token = self._write_new()
        self._changed()
        return token

    def matches(self, presented: str) -> bool:
        token = self._token
        if len(presented) != len(token):  # lengths are not secret (token_urlsafe(32) is 43 chars)
            return False
        return hmac.compare_digest(presented.encode(), token.encode())

    def log_location(self) -> None:
        """Say at every start where the API token is, never the token itself: add-on logs end up in
        bug reports and forum posts, and the token opens the whole API. The file is readable only by
        whoever may read the data directory; the ingress panel shows it to Home Assistant's users."""
        made = "a new API token was made" if self.created else "the API token"
        _LOGGER.log(
            logging.WARNING if self.created else logging.INFO,
            f"{made} for the Home Assistant integration and the web UI is in the file "
            f"{self.path} (in a container: docker exec <container> cat {self.path}); "
            "in Home Assistant the SHEMS panel shows it",
            extra={"api_token_file": str(self.path)},
        )


@dataclass(frozen=True)
class PeerPolicy:
    """Which peers are trusted without a token (the ingress proxy), by exact address."""

    trusted_peers: frozenset[str] = frozenset({INGRESS_PEER})

    def is_trusted(self, remote: str | None) -> bool:
        if remote is None:
            return False
        return canonical_address(remote) in self.trusted_peers


@functools.lru_cache(maxsize=4096)
def canonical_address(remote: str) -> str | None:
    """The peer address in canonical form (IPv4-mapped IPv6 as IPv4); ``None`` when not an address."""
    try:
        address = ipaddress.ip_address(remote)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return str(address)


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()

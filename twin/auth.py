"""Operator accounts for ``twin serve``: the users file, roles and password hashes.

Users and their roles live in one JSON file (``--users FILE``), managed with
``twin user add|list|passwd|remove``. Passwords are stored only as scrypt
hashes (``hashlib.scrypt``; cost in ``auth.scrypt_*`` of the settings table,
kept in each hash so older hashes still verify after the defaults change).

Roles, each including the ones before it:

- ``viewer``: sees the live map, the state, the alarms and the audit trail;
- ``operator``: also acknowledges, annotates and clears alarms, adds hazard findings and marks them fixed;
- ``verifier``: also verifies, rejects or reopens hazard findings (``twin.hazards``);
- ``admin``: also sees the user list (``GET /api/users``) and manages users.

The server's sessions, CSRF tokens and login throttling are the live
console's (``viz.live.security``); a change to a user here (removed, new role,
new password) ends their sessions within a second. Device keys
(``Authorization: Bearer KEY`` on ``POST /api/events``, ``sensors.http``) are a
separate mechanism for sensors and gateways; a device key opens no page and a
login posts no events.

The users file::

    {"version": 1,
     "users": {"alice": {"role": "operator", "hash": "scrypt$14$8$5$<salt b64>$<hash b64>",
                         "created": 1763840000.0, "changed": 1763840000.0}}}
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from twin.settings import default

ROLES = ("viewer", "operator", "verifier", "admin")
"""Roles, weakest first; each may do everything the ones before it may."""
USERS_VERSION = 1
"""Version of the users file format."""
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
"""Allowed user names: letters, digits, ``_ . @ -``, at most 64 characters."""
PASSWORD_MAX = 1024
"""Longest password accepted (characters); longer input is refused before hashing."""
_R = 8
_DKLEN = 32


class UsersFileError(ValueError):
    """A users file that cannot be read or a user request that cannot be honoured (the message says why)."""


def role_at_least(role: str, needed: str) -> bool:
    """Whether ``role`` may do what ``needed`` may."""
    return role in ROLES and ROLES.index(role) >= ROLES.index(needed)


# -- password hashes -------------------------------------------------------------


def hash_password(password: str, *, log2_n: int | None = None, p: int | None = None) -> str:
    """An scrypt hash of ``password``, as ``scrypt$log2N$r$p$salt$hash`` (salt and hash base64).

    Parameters
    ----------
    password : str
        The password (at most ``PASSWORD_MAX`` characters).
    log2_n, p : int, optional
        scrypt cost (default: the ``auth.scrypt_log2_n`` and ``auth.scrypt_p`` settings).
    """
    if len(password) > PASSWORD_MAX:
        msg = f"password longer than {PASSWORD_MAX} characters"
        raise UsersFileError(msg)
    ln = int(default("auth.scrypt_log2_n")) if log2_n is None else int(log2_n)
    pp = int(default("auth.scrypt_p")) if p is None else int(p)
    salt = os.urandom(16)
    dk = _scrypt(password, salt, ln, _R, pp)
    b64 = base64.b64encode
    return f"scrypt${ln}${_R}${pp}${b64(salt).decode()}${b64(dk).decode()}"


def _scrypt(password: str, salt: bytes, log2_n: int, r: int, p: int) -> bytes:
    n = 1 << log2_n
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=_DKLEN,
                          maxmem=256 * r * n * max(1, p) + (1 << 20))


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches the ``stored`` hash (constant-time comparison; False on a malformed hash)."""
    try:
        algo, ln, r, p, salt, dk = stored.split("$")
        if algo != "scrypt" or not (1 <= int(ln) <= 20 and 1 <= int(r) <= 32 and 1 <= int(p) <= 16):
            return False
        want = base64.b64decode(dk)
        got = _scrypt(password[:PASSWORD_MAX], base64.b64decode(salt), int(ln), int(r), int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, want)


_DUMMY_HASH: list[str] = []


def _dummy_verify(password: str) -> None:
    """Spend the time of one verification, so an unknown user name answers as slowly as a wrong password."""
    if not _DUMMY_HASH:
        _DUMMY_HASH.append(hash_password(secrets.token_hex(8)))
    verify_password(password, _DUMMY_HASH[0])


# -- the users file --------------------------------------------------------------


@dataclass(frozen=True)
class User:
    """One login: name, role and password hash (never the password)."""

    name: str
    role: str
    hash: str
    created: float
    changed: float


class Users:
    """The users file: load, change and save it atomically (mode 0600).

    Parameters
    ----------
    path : str | Path | None
        The JSON file (a missing file is an empty list of users; None: no
        users file at all, so nobody can log in).
    """

    def __init__(self, path: str | Path | None) -> None:
        self.path = Path(path) if path is not None else None
        self.users: dict[str, User] = {}
        self.mtime = None
        self.reload()

    def reload(self) -> None:
        """Read the file again (a missing file holds no users)."""
        if self.path is None or not self.path.exists():
            self.users, self.mtime = {}, None
            return
        try:
            st = self.path.stat()
            doc = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            msg = f"{self.path}: not a readable users file ({e})"
            raise UsersFileError(msg) from None
        if not isinstance(doc, dict) or doc.get("version") != USERS_VERSION or not isinstance(doc.get("users"), dict):
            msg = f"{self.path}: not a users file of version {USERS_VERSION} (expected {{\"version\": 1, \"users\": {{...}}}})"
            raise UsersFileError(msg)
        users = {}
        for name, u in doc["users"].items():
            if not isinstance(u, dict) or u.get("role") not in ROLES or not isinstance(u.get("hash"), str):
                msg = f"{self.path}: user {name!r}: needs 'role' (one of {', '.join(ROLES)}) and 'hash'"
                raise UsersFileError(msg)
            users[name] = User(name, u["role"], u["hash"], float(u.get("created", 0)), float(u.get("changed", 0)))
        self.users, self.mtime = users, st.st_mtime_ns

    def refresh(self) -> None:
        """Reload when the file changed on disk (``twin user`` edits it while the server runs)."""
        if self.path is None:
            return
        try:
            mtime = self.path.stat().st_mtime_ns
        except OSError:
            mtime = None
        if mtime != self.mtime:
            self.reload()

    def save(self) -> None:
        """Write the file atomically (a temporary file renamed over it), readable by its owner only."""
        if self.path is None:
            msg = "no users file to write to"
            raise UsersFileError(msg)
        doc = {"version": USERS_VERSION,
               "users": {u.name: {"role": u.role, "hash": u.hash, "created": u.created, "changed": u.changed}
                         for u in sorted(self.users.values(), key=lambda u: u.name)}}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".users-", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(doc, fh, indent=2)
                fh.write("\n")
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self.mtime = self.path.stat().st_mtime_ns

    def add(self, name: str, role: str, password: str, *, replace: bool = False) -> User:
        """Add a user (or, with ``replace``, overwrite one) and save."""
        check_name(name)
        check_role(role)
        if name in self.users and not replace:
            msg = f"user {name!r} already exists in {self.path} (use `twin user passwd` or `twin user role`)"
            raise UsersFileError(msg)
        check_password(password)
        now = time.time()
        self.users[name] = User(name, role, hash_password(password), now, now)
        self.save()
        return self.users[name]

    def set_password(self, name: str, password: str) -> None:
        """Change a user's password and save."""
        u = self.get(name)
        check_password(password)
        self.users[name] = User(name, u.role, hash_password(password), u.created, time.time())
        self.save()

    def set_role(self, name: str, role: str) -> None:
        """Change a user's role and save."""
        u = self.get(name)
        check_role(role)
        self.users[name] = User(name, role, u.hash, u.created, time.time())
        self.save()

    def remove(self, name: str) -> None:
        """Remove a user and save."""
        self.get(name)
        del self.users[name]
        self.save()

    def get(self, name: str) -> User:
        """The user called ``name``; a clear error when there is none."""
        if name not in self.users:
            msg = f"no user {name!r} in {self.path}"
            raise UsersFileError(msg)
        return self.users[name]

    def authenticate(self, name: str, password: str) -> User | None:
        """The user when ``password`` is theirs, else None (an unknown name costs the same time).

        The file is read again first when it changed on disk, so a user just
        added logs in and a removed user's password no longer works, without a restart.
        """
        try:
            self.refresh()
        except UsersFileError:
            self.users = {}  # an unreadable users file lets nobody in
        u = self.users.get(name)
        if u is None:
            _dummy_verify(password)
            return None
        return u if verify_password(password, u.hash) else None


def check_name(name: str) -> None:
    """Refuse a user name outside ``NAME_PATTERN``."""
    if not NAME_PATTERN.match(name):
        msg = f"user name {name!r}: use 1-64 letters, digits or _ . @ -"
        raise UsersFileError(msg)


def check_role(role: str) -> None:
    """Refuse an unknown role."""
    if role not in ROLES:
        msg = f"role {role!r}: must be one of {', '.join(ROLES)}"
        raise UsersFileError(msg)


def check_password(password: str) -> None:
    """Refuse a password shorter than ``auth.password_min`` or longer than ``PASSWORD_MAX``."""
    least = int(default("auth.password_min"))
    if len(password) < least:
        msg = f"password too short: at least {least} characters"
        raise UsersFileError(msg)
    if len(password) > PASSWORD_MAX:
        msg = f"password longer than {PASSWORD_MAX} characters"
        raise UsersFileError(msg)

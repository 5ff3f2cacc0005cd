"""What a server was told: the app's defaults, the limits, who is admin, and how people sign in."""
from __future__ import annotations

import ipaddress
import json
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from hill_viz.core.access import Limits
from hill_viz.errors import ConfigError

__all__ = ["Auth", "ServeConfig", "is_loopback"]

SIGN_IN_PAGE = Path(__file__).parent / "templates" / "sign_in.html"  # Panel's own fetches its logo from a CDN


@dataclass(frozen=True)
class Auth:
    """Panel's own sign-in: basic auth with a users file, or OAuth. Empty: nobody signs in."""

    basic_auth: Path | None = None
    cookie_secret: str | None = None
    oauth_provider: str | None = None
    oauth_key: str | None = None
    oauth_secret: str | None = None
    oauth_redirect_uri: str | None = None
    oauth_encryption_key: str | None = None
    oauth_extra_params: dict = field(default_factory=dict)

    @property
    def enabled(self) -> bool:
        return self.basic_auth is not None or self.oauth_provider is not None

    def users(self) -> list[str]:
        """The user names of the basic-auth file (checked: a JSON object of user -> password)."""
        if self.basic_auth is None:
            return []
        try:
            users = json.loads(Path(self.basic_auth).read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"cannot read the users file {self.basic_auth}: {exc.strerror}") from None
        except ValueError:
            raise ConfigError(f"users file {self.basic_auth} is not JSON; write an object like "
                              '{"alice": "password", "bob": "password"}') from None
        if not isinstance(users, dict) or not users or not all(
                isinstance(k, str) and isinstance(v, str) and k and v for k, v in users.items()):
            raise ConfigError(f"users file {self.basic_auth} must be a JSON object of user name -> password, "
                              "with at least one user")
        return sorted(users)

    def serve_kwargs(self) -> dict:
        """Keyword arguments of `pn.serve` (a random cookie secret when none was given)."""
        if self.basic_auth is not None and self.oauth_provider is not None:
            raise ConfigError("choose one way to sign in: --basic-auth or --oauth-provider, not both")
        if not self.enabled:
            return {}
        kwargs = {"cookie_secret": self.cookie_secret or secrets.token_urlsafe(32),
                  "logout_template": str(SIGN_IN_PAGE)}
        if self.basic_auth is not None:
            self.users()
            return {**kwargs, "basic_auth": str(Path(self.basic_auth).resolve()), "login_template": str(SIGN_IN_PAGE)}
        if not (self.oauth_key and self.oauth_secret):
            raise ConfigError(f"--oauth-provider {self.oauth_provider} needs --oauth-key and --oauth-secret")
        extra = {"oauth_redirect_uri": self.oauth_redirect_uri, "oauth_encryption_key": self.oauth_encryption_key,
                 "oauth_extra_params": self.oauth_extra_params or None}
        return {**kwargs, "oauth_provider": self.oauth_provider, "oauth_key": self.oauth_key,
                "oauth_secret": self.oauth_secret, **{k: v for k, v in extra.items() if v}}


@dataclass(frozen=True)
class ServeConfig:
    """The app a server serves and what each page may do."""

    root: Path                               # the workspaces' folder
    dataset: str | None = None               # loaded when a page opens (or `path`)
    path: Path | None = None
    n: int | None = None
    pretrain_epochs: int = 2
    limits: Limits = Limits()
    admins: tuple[str, ...] = ()
    max_sessions: int | None = None          # open pages at once
    max_trainings: int = 2                   # training segments at once; the others queue
    open_id: str | None = None               # `/` opens this workspace instead of the list
    session_params: dict = field(default_factory=dict, compare=False)  # every page's Session settings (engine, scheduler, sample)
    retain_days: float | None = None         # workspaces not opened or changed this long are removed

    @property
    def max_disk_bytes(self) -> int | None:
        """The workspaces' disk quota (`limits.disk`): no new workspace and no training past it."""
        return None if self.limits.disk is None else self.limits.disk.max_bytes


def is_loopback(address: str) -> bool:
    if address == "localhost":
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False

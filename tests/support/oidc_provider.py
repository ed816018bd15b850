"""The example OpenID provider of github.com/zitadel/oidc (v3.52.0), built once and run per test.

A real OP for the dashboard's OIDC sign-in tests, built from the pinned Go module (served by the
Go module proxy) into `<repo>/.local/cache/zitadel-oidc-op-v3.52.0/op` the first time it is
needed; Go 1.26 or newer must be on PATH for that first build (there is no skip: CI relies on
the test).

What the example OP is (read from `example/server` of the module, v3.52.0):

- the issuer is `http://localhost:<PORT>/` (env `PORT`); the server listens on every address;
- three clients, all with the redirect URIs of env `REDIRECT_URI` (comma-separated, compared
  exactly): `web` and `api` (secret `secret`, client_secret_basic or _post, web apps in dev
  mode, so an http redirect URI is allowed) and `native` (no secret, PKCE required). A PKCE
  challenge sent by any client is checked at the token endpoint (S256 is enabled);
- the authorization endpoint is `/auth` (not `/authorize`); it redirects to the login UI
  `/login/username?authRequestID=<id>`, whose form POSTs `id`, `username` and `password` back
  to `/login/username`; a right password redirects to `/auth/callback?id=<id>`, which
  redirects to the redirect URI with `code` and `state` (no `iss` parameter); a wrong one
  renders the form again with "username or password wrong" (200);
- users come from env `USERS_FILE`: a JSON object of id to `User` (`ID`, `Username`,
  `Password`, `FirstName`, `LastName`, `Email`, `EmailVerified`, `Phone`, `PhoneVerified`,
  `PreferredLanguage`, `IsAdmin`); people sign in with their `Username`;
- with an access token issued (the code flow), `email` and `email_verified` are only at the
  userinfo endpoint, not in the ID token; `email_verified` is omitted when false (omitempty);
- ID tokens are RS256 with a key generated at start-up; an authorization code works once
  (the auth request is deleted when the tokens are made).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import httpx

VERSION: Final = "v3.52.0"
MODULE: Final = "github.com/zitadel/oidc/v3"
PACKAGE: Final = f"{MODULE}/example/server"
MIN_GO: Final = (1, 26)
REPO_ROOT: Final = Path(__file__).resolve().parents[2]
CACHE_DIR: Final = REPO_ROOT / ".local" / "cache" / f"zitadel-oidc-op-{VERSION}"
BINARY: Final = CACHE_DIR / "op"
BUILD_TIMEOUT_SECONDS: Final = 900.0

#: The confidential client the example OP registers (client_secret_basic).
WEB_CLIENT_ID: Final = "web"
WEB_CLIENT_SECRET: Final = "secret"
#: Its public client (no secret, PKCE required).
NATIVE_CLIENT_ID: Final = "native"
WRONG_PASSWORD_TEXT: Final = "username or password wrong"


class ProviderBuildError(RuntimeError):
    """The example OP could not be built (no suitable Go, or the build failed)."""


class ProviderStartError(RuntimeError):
    """The example OP did not start answering (its log is in the message)."""


@dataclass(frozen=True, slots=True)
class User:
    """One user of the OP's users file."""

    id: str
    username: str
    password: str
    email: str
    email_verified: bool = True
    first_name: str = "Test"
    last_name: str = "User"

    def as_json(self) -> dict[str, Any]:
        """The user as example/server/storage/user.go reads it."""
        return {
            "ID": self.id,
            "Username": self.username,
            "Password": self.password,
            "FirstName": self.first_name,
            "LastName": self.last_name,
            "Email": self.email,
            "EmailVerified": self.email_verified,
            "Phone": "",
            "PhoneVerified": False,
            "PreferredLanguage": "en",
            "IsAdmin": False,
        }


@dataclass(frozen=True, slots=True)
class RunningProvider:
    """A started example OP."""

    issuer: str
    port: int
    log_path: Path

    def log(self, limit: int = 6000) -> str:
        """The end of the OP's output (for failure messages)."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError as exc:
            return f"(no log: {exc})"
        return text[-limit:]


def _go() -> str:
    """The `go` command on PATH, checked to be Go 1.26 or newer."""
    found = shutil.which("go")
    if found is None:
        raise ProviderBuildError(
            "the OIDC integration test builds the example OpenID provider of "
            f"{MODULE}@{VERSION} and needs Go {MIN_GO[0]}.{MIN_GO[1]} or newer on PATH "
            "(https://go.dev/dl/); `go` was not found"
        )
    version = subprocess.run(
        [found, "env", "GOVERSION"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "GOTOOLCHAIN": "local"},
        check=False,
    ).stdout.strip()
    match = re.match(r"go(\d+)\.(\d+)", version)
    if match is None or (int(match[1]), int(match[2])) < MIN_GO:
        raise ProviderBuildError(
            f"the OIDC integration test needs Go {MIN_GO[0]}.{MIN_GO[1]} or newer to build "
            f"the example OpenID provider of {MODULE}@{VERSION}; {found} is {version or '?'}"
        )
    return found


def _run(command: list[str], cwd: Path, env: dict[str, str]) -> None:
    try:
        done = subprocess.run(
            command,
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=BUILD_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ProviderBuildError(
            f"{' '.join(command)} took longer than {BUILD_TIMEOUT_SECONDS:.0f} s"
        ) from None
    if done.returncode != 0:
        output = (done.stdout + done.stderr)[-4000:]
        raise ProviderBuildError(
            f"{' '.join(command)} failed with exit code {done.returncode} "
            f"(building the example OpenID provider of {MODULE}@{VERSION}):\n{output}"
        )


def provider_binary() -> Path:
    """The example OP's executable, built into the cache when it is not there yet."""
    if BINARY.is_file() and os.access(BINARY, os.X_OK):
        return BINARY
    go = _go()
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    flags = os.environ.get("GOFLAGS", "").split()
    flags = [flag for flag in flags if not flag.startswith("-mod=")]
    env = {
        **os.environ,
        "GOFLAGS": " ".join([*flags, "-mod=mod", "-buildvcs=false"]),
        "GOTOOLCHAIN": "local",
    }
    with (
        tempfile.TemporaryDirectory(prefix="zitadel-oidc-op-") as scratch,
        tempfile.TemporaryDirectory(prefix=".build-", dir=CACHE_DIR) as output,
    ):
        workdir = Path(scratch)
        (workdir / "go.mod").write_text("module aigov.test/oidcop\n\ngo 1.26\n")
        _run([go, "get", f"{PACKAGE}@{VERSION}"], workdir, env)
        built = Path(output) / "op"
        _run([go, "build", "-o", str(built), PACKAGE], workdir, env)
        # Atomic: a concurrent build (or reader) sees no binary or a whole one.
        os.replace(built, BINARY)
    return BINARY


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def _wait_ready(process: subprocess.Popen[bytes], running: RunningProvider, timeout: float) -> bool:
    """True once discovery answers 200; False when the process exited (e.g. port taken)."""
    url = running.issuer + ".well-known/openid-configuration"
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=1.0, trust_env=False) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                return False
            try:
                if client.get(url).status_code == 200:
                    return True
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
    raise ProviderStartError(
        f"the example OpenID provider did not answer {url} within {timeout:.0f} s; its log:\n"
        + running.log()
    )


@contextmanager
def running_provider(
    workdir: Path,
    *,
    redirect_uris: Sequence[str],
    users: Sequence[User],
    startup_timeout: float = 20.0,
) -> Iterator[RunningProvider]:
    """Run the example OP (its users file and log in `workdir`) until the block ends."""
    binary = provider_binary()
    workdir.mkdir(parents=True, exist_ok=True)
    users_file = workdir / "oidc-users.json"
    users_file.write_text(json.dumps({user.id: user.as_json() for user in users}, indent=2))
    for attempt in range(3):
        port = free_port()
        running = RunningProvider(
            issuer=f"http://localhost:{port}/",
            port=port,
            log_path=workdir / f"oidc-op-{attempt}.log",
        )
        with running.log_path.open("wb") as log:
            process = subprocess.Popen(
                [str(binary)],
                cwd=workdir,
                env={
                    "PATH": os.environ.get("PATH", ""),
                    "HOME": os.environ.get("HOME", str(workdir)),
                    "PORT": str(port),
                    "REDIRECT_URI": ",".join(redirect_uris),
                    "USERS_FILE": str(users_file),
                },
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            if _wait_ready(process, running, startup_timeout):
                yield running
                return
        finally:
            _stop(process)
        # The process exited before answering: most likely someone took the port meanwhile.
        if "address already in use" not in running.log():
            break
    raise ProviderStartError(
        f"the example OpenID provider exited (code {process.returncode}) before answering; "
        f"its log:\n{running.log()}"
    )

"""The API key and secret of `atb live --live-trading` / `--validate-only`.

They come from `ATB_API_KEY` and `ATB_API_SECRET`, or from `--key-file`, a TOML file
(`api_key = "…"`, `secret = "…"`) that only its owner may read. Reading them needs no exchange
client: a session is refused for a missing or unsafe key before ccxt is even imported.
"""

from __future__ import annotations

import os
import stat
import tomllib
from pathlib import Path

from atb.domain.errors import AtbError

__all__ = ["KEY_VARIABLE", "SECRET_VARIABLE", "read_keys"]

KEY_VARIABLE = "ATB_API_KEY"
SECRET_VARIABLE = "ATB_API_SECRET"


def read_keys(key_file: Path | None) -> tuple[str, str]:
    """(key, secret) from the key file, else from the environment; one-line errors that never
    quote either."""
    if key_file is not None:
        return _keys_from_file(key_file)
    key, secret = os.environ.get(KEY_VARIABLE, ""), os.environ.get(SECRET_VARIABLE, "")
    if not key or not secret:
        raise AtbError(
            f"trading on the exchange needs an API key: set {KEY_VARIABLE} and "
            f"{SECRET_VARIABLE}, or pass --key-file"
        )
    return key, secret


def _keys_from_file(path: Path) -> tuple[str, str]:
    try:
        info = path.stat()
    except OSError as error:
        raise AtbError(f"--key-file {path}: {error.strerror or error}") from None
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077 or info.st_uid != os.getuid():
        raise AtbError(
            f"--key-file {path}: readable by others (mode {mode:04o}, owner uid {info.st_uid}); "
            "it must belong to you with mode 0600 (chmod 600)"
        )
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        # The parser's message may quote the file's text, which holds the secret.
        raise AtbError(
            f"--key-file {path}: not a TOML file with api_key and secret strings"
        ) from None
    key, secret = document.get("api_key"), document.get("secret")
    if not isinstance(key, str) or not isinstance(secret, str) or not key or not secret:
        raise AtbError(f"--key-file {path}: needs non-empty api_key and secret strings")
    return key, secret

"""Check and compile a policy once; reuse the compiled code while no file it read changed.

A manifest per policy directory lists every file the check read (rule files of the policy
and its layers, cited documents, the catalogue) with its sha256, and the `*.policy` files
of each directory. If all still match, the marshalled code object is loaded and executed
without parsing anything (a warm load). The cache lives in $POLICYENGINE_CACHE_DIR, else
$XDG_CACHE_HOME/policyengine, else ~/.cache/policyengine; an unwritable cache is skipped.

Loading a code object means executing it, so the cache trusts nothing it cannot vouch for:

- every artefact is named by the *build key* — this engine's source hash, the grammar, the
  package version and the Python implementation and version (marshal's format and the
  bytecode differ between them) — and the code and source files also by the policy's
  content hash; the manifest repeats the build key and the content hash;
- the manifest records the sha256 of the code it names, checked before unmarshalling;
- the directory and every file must belong to the current user and be writable by nobody
  else (a shared, world-writable cache directory is refused, with one warning); files are
  opened without following symbolic links and checked on the open descriptor;
- on any doubt the policy is compiled afresh: a cache never makes a load fail.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import marshal
import os
import stat
import sys
import tempfile
import types
from pathlib import Path
from typing import Any

from policyengine._version import __version__
from policyengine.errors import PolicyInvalid
from policyengine.grammar import grammar_hash
from policyengine.layout import policy_files
from policyengine.prepared import LoadedPolicy, loaded_policy

log = logging.getLogger("policyengine.cache")
MANIFEST_FORMAT = 2
# group- or other-writable: someone else could replace what we would execute
_SHARED_WRITE = stat.S_IWGRP | stat.S_IWOTH
_warned: set[str] = set()


def cache_dir() -> Path | None:
    """The cache directory, or None when there is none we may trust (the reason is logged
    once): created private (0700) when missing."""
    configured = os.environ.get("POLICYENGINE_CACHE_DIR")
    if configured == "":
        return None
    if configured:
        base = Path(configured)
    else:
        xdg = os.environ.get("XDG_CACHE_HOME")
        base = (Path(xdg) if xdg else Path.home() / ".cache") / "policyengine"
    try:
        base.mkdir(mode=0o700, parents=True, exist_ok=True)
        status = base.stat()
    except OSError:
        return None
    problem = _untrusted(status, "directory")
    if problem is not None:
        _warn_once(base, f"compile cache {base} not used: {problem}")
        return None
    return base if os.access(base, os.W_OK) else None


def _untrusted(status: os.stat_result, what: str) -> str | None:
    """Why a cache directory or file must not be trusted, or None."""
    if not hasattr(os, "geteuid"):  # no POSIX ownership (Windows): the user's profile
        return None
    if status.st_uid != os.geteuid():
        return f"the {what} belongs to another user (uid {status.st_uid})"
    if status.st_mode & _SHARED_WRITE:
        return f"the {what} is writable by other users (mode {stat.S_IMODE(status.st_mode):o})"
    return None


def _warn_once(base: Path, message: str) -> None:
    if str(base) not in _warned:
        _warned.add(str(base))
        log.warning("%s; set POLICYENGINE_CACHE_DIR to a private directory", message)


def _read_trusted(path: Path) -> bytes:
    """A cache file's bytes: a regular file of ours, not a link, writable by us alone."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    handle = os.open(path, flags)
    try:
        status = os.fstat(handle)
        if not stat.S_ISREG(status.st_mode) or _untrusted(status, "file") is not None:
            raise ValueError(f"untrusted cache file {path}")
        with os.fdopen(os.dup(handle), "rb") as stream:
            return stream.read()
    finally:
        os.close(handle)


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@functools.cache
def engine_hash() -> str:
    """The generated code depends on the compiler: any change to the package's source
    (an editable install being edited) invalidates every cached policy."""
    package = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def python_tag() -> str:
    """The interpreter a code object was marshalled by: its implementation, bytecode tag
    and exact version (marshal data is not portable between them)."""
    implementation = sys.implementation
    return f"{implementation.name}|{implementation.cache_tag}|{sys.hexversion:x}|{sys.version}"


def build_key() -> str:
    """Everything besides the policy that the compiled code depends on."""
    parts = (__version__, engine_hash(), grammar_hash(), python_tag())
    return _digest("\0".join(parts).encode())


def policy_fingerprint(content_hash: str) -> str:
    """The compiled policy's identity: its content under this engine (not the interpreter,
    which changes no result). What `--resume` compares."""
    return _digest(f"{__version__}\0{engine_hash()}\0{content_hash}".encode())


def _manifest_path(base: Path, directory: Path, key: str) -> Path:
    return base / f"{directory.name}-{_digest(f'{key}|{directory}'.encode())[:20]}.json"


def _artefact_stem(content_hash: str, key: str) -> str:
    return f"{content_hash[:32]}-{key[:32]}"


def _listing(directory: Path) -> list[str]:
    return [p.name for p in policy_files(directory)]


def _warm(base: Path, directory: Path) -> LoadedPolicy | None:
    key = build_key()
    try:
        manifest = json.loads(_read_trusted(_manifest_path(base, directory, key)))
        if manifest.get("format") != MANIFEST_FORMAT or manifest.get("key") != key:
            return None
        content_hash = str(manifest["content"])
        stem = _artefact_stem(content_hash, key)
        if manifest["code"] != f"{stem}.marshal" or manifest["source"] != f"{stem}.py":
            return None
        for path, digest in manifest["deps"].items():
            if _digest(Path(path).read_bytes()) != digest:
                return None
        for folder, names in manifest["dirs"].items():
            if _listing(Path(folder)) != names:
                return None
        data = _read_trusted(base / f"{stem}.marshal")
        text = _read_trusted(base / f"{stem}.py")
        if _digest(data) != manifest["code_sha256"] or _digest(text) != manifest["source_sha256"]:
            return None
        code = marshal.loads(data)
        if not isinstance(code, types.CodeType):
            return None
        namespace: dict[str, Any] = {"__name__": f"policyengine.compiled.{directory.name}"}
        exec(code, namespace)  # our own generated code: same build, same content, verified
        return loaded_policy(
            directory,
            namespace,
            text.decode("utf-8"),
            cached=True,
            fingerprint=policy_fingerprint(content_hash),
            content_hash=content_hash,
        )
    except Exception:  # any doubt about the cache means compiling afresh, never failing
        return None


def _store(
    base: Path,
    directory: Path,
    deps: list[Path],
    dirs: set[Path],
    content_hash: str,
    code: Any,
    source: str,
) -> None:
    key = build_key()
    stem = _artefact_stem(content_hash, key)
    data, text = marshal.dumps(code), source.encode("utf-8")
    manifest = {
        "format": MANIFEST_FORMAT,
        "key": key,
        "content": content_hash,
        "deps": {str(p): _digest(p.read_bytes()) for p in deps},
        "dirs": {str(d): _listing(d) for d in sorted(dirs)},
        "code": f"{stem}.marshal",
        "code_sha256": _digest(data),
        "source": f"{stem}.py",
        "source_sha256": _digest(text),
    }
    _atomic_write(base / f"{stem}.marshal", data)
    _atomic_write(base / f"{stem}.py", text)
    _atomic_write(
        _manifest_path(base, directory, key), json.dumps(manifest, indent=1).encode("utf-8")
    )


def _atomic_write(path: Path, data: bytes) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")  # mode 0600
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temporary)


def load_compiled(directory: Path, *, use_cache: bool = True) -> LoadedPolicy:
    directory = directory.resolve()
    base = cache_dir() if use_cache else None
    if base is not None:
        warm = _warm(base, directory)
        if warm is not None:
            return warm
    # The parser, checker and compiler are imported only on this cold path.
    from policyengine.check import check_loaded
    from policyengine.compile import compile_policy
    from policyengine.diagnostics import render
    from policyengine.loader import load

    loaded = load(directory)
    result = check_loaded(loaded)
    if not result.ok or result.policy is None:
        errors = [d for d in result.diagnostics if d.is_error]
        first = render(errors[0], result.texts) if errors else "no policy declaration"
        raise PolicyInvalid(f"policy {directory.name} has {len(errors)} error(s):\n{first}")
    compiled = compile_policy(result.policy)
    namespace = compiled.namespace()
    if base is not None:
        dirs = {layer.directory.resolve() for layer in loaded.layers}
        with contextlib.suppress(OSError):
            _store(
                base,
                directory,
                loaded.deps,
                dirs,
                result.content_hash,
                compiled.code,
                compiled.source,
            )
    return loaded_policy(
        directory,
        namespace,
        compiled.source,
        cached=False,
        fingerprint=policy_fingerprint(result.content_hash),
        content_hash=result.content_hash,
    )

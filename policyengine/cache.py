"""Check and compile a policy once; reuse the compiled code while no file it read changed.

A manifest per policy directory lists every file the check read (rule files of the policy
and its layers, cited documents, the catalogue) with its sha256, and the `*.policy` files
of each directory. If all still match, the marshalled code object is loaded and executed
without parsing anything (a warm load). The cache lives in $POLICYENGINE_CACHE_DIR, else
$XDG_CACHE_HOME/policyengine, else ~/.cache/policyengine; an unwritable cache is skipped.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import marshal
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from policyengine._version import __version__
from policyengine.errors import PolicyInvalid
from policyengine.grammar import grammar_hash
from policyengine.layout import policy_files
from policyengine.prepared import LoadedPolicy, loaded_policy


def cache_dir() -> Path | None:
    configured = os.environ.get("POLICYENGINE_CACHE_DIR")
    if configured == "":
        return None
    if configured:
        base = Path(configured)
    else:
        xdg = os.environ.get("XDG_CACHE_HOME")
        base = (Path(xdg) if xdg else Path.home() / ".cache") / "policyengine"
    try:
        base.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return base if os.access(base, os.W_OK) else None


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


def _manifest_path(base: Path, directory: Path) -> Path:
    key = f"{__version__}|{engine_hash()}|{grammar_hash()}|{sys.version}|{directory}"
    return base / f"{directory.name}-{_digest(key.encode())[:20]}.json"


def _listing(directory: Path) -> list[str]:
    return [p.name for p in policy_files(directory)]


def _warm(base: Path, directory: Path) -> LoadedPolicy | None:
    manifest_file = _manifest_path(base, directory)
    try:
        manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
        for path, digest in manifest["deps"].items():
            if _digest(Path(path).read_bytes()) != digest:
                return None
        for folder, names in manifest["dirs"].items():
            if _listing(Path(folder)) != names:
                return None
        code = marshal.loads((base / str(manifest["code"])).read_bytes())
        source = (base / str(manifest["source"])).read_text(encoding="utf-8")
    except (OSError, ValueError, KeyError, EOFError, TypeError):
        return None
    namespace: dict[str, Any] = {"__name__": f"policyengine.compiled.{directory.name}"}
    exec(code, namespace)  # our own generated code, cached by its content hash
    return loaded_policy(directory, namespace, source, cached=True)


def _store(
    base: Path,
    directory: Path,
    deps: list[Path],
    dirs: set[Path],
    content_hash: str,
    code: Any,
    source: str,
) -> None:
    code_file, source_file = f"{content_hash}.marshal", f"{content_hash}.py"
    manifest = {
        "deps": {str(p): _digest(p.read_bytes()) for p in deps},
        "dirs": {str(d): _listing(d) for d in sorted(dirs)},
        "code": code_file,
        "source": source_file,
    }
    _atomic_write(base / code_file, marshal.dumps(code))
    _atomic_write(base / source_file, source.encode("utf-8"))
    _atomic_write(_manifest_path(base, directory), json.dumps(manifest, indent=1).encode("utf-8"))


def _atomic_write(path: Path, data: bytes) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
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
    return loaded_policy(directory, namespace, compiled.source, cached=False)

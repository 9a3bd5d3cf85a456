"""Load a policy directory: its rule files, the layers it `uses`, source texts, catalogue.

A policy directory holds `*.policy` files (one of them declares `policy <name>`), the
documents it cites under `sources/`, and YAML cases under `tests/`. `uses national`
loads the sibling directory `../national` first. Display paths are relative to the
directory holding the policies (`tianjin/benefits.policy`), as results name rules.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from policyengine import nodes as n
from policyengine._version import __version__
from policyengine.build import build
from policyengine.diagnostics import Diagnostic, Diagnostics, printable, suggestion
from policyengine.errors import PolicyNotFound
from policyengine.grammar import grammar_hash
from policyengine.layout import bundled_policies, policy_files
from policyengine.parse import Lost, parse, too_large
from policyengine.span import SourceText, Span

# A cited document or a catalogue is read whole: a policy document runs to tens of kilobytes
# and the catalogue's 200,000 rows (catalogue.MAX_ROWS) to some 40 MB.
MAX_READ_BYTES = 64_000_000


@dataclass
class Layer:
    """One policy directory's parsed rule files."""

    name: str
    directory: Path
    files: list[n.RuleFile] = field(default_factory=list)

    def decls(self) -> list[n.Decl]:
        return [decl for rule_file in self.files for decl in rule_file.decls]

    def policy_decl(self) -> n.PolicyDecl | None:
        return next((d for d in self.decls() if isinstance(d, n.PolicyDecl)), None)


@dataclass
class Loaded:
    """Everything the checker reads: layers in dependency order (the policy itself last)."""

    root: Path
    layers: list[Layer]
    texts: dict[str, SourceText]
    diagnostics: Diagnostics
    content: list[tuple[str, bytes]] = field(default_factory=list)
    deps: list[Path] = field(default_factory=list)  # every file read, for the compile cache
    lost: list[Lost] = field(default_factory=list)  # declarations lost to syntax errors
    # Rule files as an editor holds them, not yet saved (the language server checks as you
    # type): by resolved path, read in place of the file on disk (or as a new file).
    overlay: dict[Path, str] = field(default_factory=dict)

    @property
    def main(self) -> Layer:
        return self.layers[-1]

    def content_hash(self) -> str:
        digest = hashlib.sha256()
        digest.update(f"policyengine {__version__}\0grammar {grammar_hash()}\0".encode())
        for name, data in sorted(self.content):
            digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
        return digest.hexdigest()

    def read_file(self, layer: Layer, relative: str) -> tuple[str, str] | None:
        """A file of a layer (a cited document, the catalogue), recorded in the hash."""
        found = self.read(layer, relative)
        return None if isinstance(found, str) else found

    def read(
        self, layer: Layer, relative: str, limit: int = MAX_READ_BYTES
    ) -> tuple[str, str] | str:
        """`read_file`, or why the file cannot be read. Only a regular file inside the layer's
        directory is read (no `..`, absolute path or symbolic link out of it), and none larger
        than `limit` bytes."""
        try:
            path = (layer.directory / relative).resolve()
            if not path.is_relative_to(layer.directory.resolve()) or not path.is_file():
                return f"not found in {layer.name}/"
            size = path.stat().st_size
            if size > limit:
                return f"is {size:,} bytes; the limit is {limit:,}"
            data = path.read_bytes()
        except (OSError, ValueError):  # a name too long or with a NUL byte, no permission
            return f"cannot be read in {layer.name}/"
        display = f"{layer.name}/{printable(relative)}"
        self.content.append((display, data))
        self.deps.append(path)
        return display, data.decode("utf-8", errors="replace")


def load(directory: Path, overlay: Mapping[Path, str] | None = None) -> Loaded:
    """Load the policy in `directory` and the layers it uses; `overlay` holds rule files'
    unsaved texts by path."""
    directory = directory.resolve()
    loaded = Loaded(directory.parent, [], {}, Diagnostics())
    loaded.overlay = {path.resolve(): text for path, text in (overlay or {}).items()}
    _load_layer(loaded, directory, chain=())
    return loaded


def _rule_files(loaded: Loaded, directory: Path) -> list[Path]:
    on_disk = policy_files(directory)
    known = {path.resolve() for path in on_disk}
    unsaved = [
        path
        for path in loaded.overlay
        if path.parent == directory.resolve() and path.suffix == ".policy" and path not in known
    ]
    return sorted([*on_disk, *unsaved])


def _read_rule_file(loaded: Loaded, path: Path, display: str) -> tuple[bytes, Diagnostic | None]:
    """The file's bytes (the editor's text if it holds it), or the P006 of a file too large."""
    text = loaded.overlay.get(path.resolve())
    data = text.encode("utf-8", errors="surrogatepass") if text is not None else None
    refused = too_large(display, len(data) if data is not None else path.stat().st_size)
    if refused is not None:
        return b"", refused
    return (data if data is not None else path.read_bytes()), None


def _load_layer(loaded: Loaded, directory: Path, chain: tuple[str, ...]) -> None:
    layer = Layer(directory.name, directory)
    for path in _rule_files(loaded, directory):
        # A file name may hold any character but `/`: shown escaped, never a line break.
        display = printable(f"{directory.name}/{path.name}")
        if not path.resolve().is_relative_to(directory.resolve()):
            # The same rule as for cited files: a policy is what its directory holds.
            loaded.diagnostics.error(
                "I002",
                "rule file is a symbolic link out of the policy directory: not read",
                Span(display, 1, 1, 1, 2),
            )
            continue
        try:
            data, refused = _read_rule_file(loaded, path, display)
        except OSError as error:
            loaded.diagnostics.error(
                "I002",
                f"rule file cannot be read: {error.strerror or error}",
                Span(display, 1, 1, 1, 2),
            )
            continue
        loaded.content.append((display, data))
        loaded.deps.append(path.resolve())
        if refused is not None:
            loaded.diagnostics.extend([refused])
            continue
        source = SourceText(path, display, data.decode("utf-8", errors="replace"))
        loaded.texts[display] = source
        result = parse(source)
        loaded.diagnostics.extend(result.diagnostics)
        loaded.lost.extend(result.lost)
        if result.tree is not None:
            layer.files.append(build(source, result.tree, loaded.diagnostics))
    if not layer.files and not any(d.code.startswith("P") for d in loaded.diagnostics.sorted()):
        loaded.diagnostics.error(
            "I002",
            f"no rule files (*.policy) in {directory}",
            Span(f"{directory.name}/", 1, 1, 1, 2),
        )
    policy = layer.policy_decl()
    if policy is not None:
        _load_uses(loaded, layer, policy, chain)
    loaded.layers.append(layer)


def _load_uses(loaded: Loaded, layer: Layer, policy: n.PolicyDecl, chain: tuple[str, ...]) -> None:
    spans = policy.uses_spans or (policy.span,) * len(policy.uses)
    for used, span in zip(policy.uses, spans, strict=True):
        if any(existing.name == used for existing in loaded.layers):
            continue
        target = layer.directory.parent / used
        if used in chain or used == layer.name:
            loaded.diagnostics.error("N003", f"layer `{used}` uses itself", span)
        elif policy_files(target):
            _load_layer(loaded, target, (*chain, layer.name))
        else:
            loaded.diagnostics.error(
                "N003",
                f"unknown layer `{used}`: no directory {target} with rule files",
                span,
                hint=_layer_hint(used, layer.directory),
            )


def _layer_hint(used: str, directory: Path) -> str:
    """A layer is the sibling directory of its name: a misspelling, or a policy written
    outside the bundled `policies/` without a copy of the layer beside it."""
    parent = directory.parent
    known = [p.name for p in parent.iterdir() if p.is_dir() and policy_files(p)]
    close = suggestion(used, known)
    if close:
        return close
    try:
        bundled = bundled_policies() / used
    except PolicyNotFound:
        bundled = None
    reads = f"`uses {used}` reads the directory `{used}/` beside `{directory.name}/`"
    unchecked = "(names it would declare are not checked until it is found)"
    if bundled is not None and policy_files(bundled) and bundled.resolve() != (parent / used):
        return f"{reads}; copy the bundled layer there: cp -r {bundled} {parent}/ {unchecked}"
    return f"{reads} {unchecked}"

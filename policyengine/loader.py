"""Load a policy directory: its rule files, the layers it `uses`, source texts, catalogue.

A policy directory holds `*.policy` files (one of them declares `policy <name>`), the
documents it cites under `sources/`, and YAML cases under `tests/`. `uses national`
loads the sibling directory `../national` first. Display paths are relative to the
directory holding the policies (`tianjin/benefits.policy`), as results name rules.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from policyengine import __version__
from policyengine import nodes as n
from policyengine.build import build
from policyengine.diagnostics import Diagnostics, suggestion
from policyengine.grammar import grammar_hash
from policyengine.parse import parse
from policyengine.span import SourceText, Span


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
        path = (layer.directory / relative).resolve()
        if not path.is_relative_to(layer.directory.resolve()) or not path.is_file():
            return None
        data = path.read_bytes()
        display = f"{layer.name}/{relative}"
        self.content.append((display, data))
        self.deps.append(path)
        return display, data.decode("utf-8", errors="replace")


def policy_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.glob("*.policy") if p.is_file())


def load(directory: Path) -> Loaded:
    directory = directory.resolve()
    loaded = Loaded(directory.parent, [], {}, Diagnostics())
    _load_layer(loaded, directory, chain=())
    return loaded


def _load_layer(loaded: Loaded, directory: Path, chain: tuple[str, ...]) -> None:
    layer = Layer(directory.name, directory)
    for path in policy_files(directory):
        display = f"{directory.name}/{path.name}"
        data = path.read_bytes()
        loaded.content.append((display, data))
        loaded.deps.append(path.resolve())
        source = SourceText(path, display, data.decode("utf-8", errors="replace"))
        loaded.texts[display] = source
        result = parse(source)
        loaded.diagnostics.extend(result.diagnostics)
        if result.tree is not None:
            layer.files.append(build(source, result.tree, loaded.diagnostics))
    if not layer.files and not any(d.code.startswith("P") for d in loaded.diagnostics.sorted()):
        loaded.diagnostics.error(
            "I002",
            f"no rule files (*.policy) in {directory}",
            Span(f"{directory.name}/", 1, 1, 1, 2),
        )
    policy = layer.policy_decl()
    for used in policy.uses if policy else ():
        if any(existing.name == used for existing in loaded.layers):
            continue
        target = directory.parent / used
        if used in chain or used == layer.name:
            loaded.diagnostics.error("N003", f"layer `{used}` uses itself", policy.span)  # type: ignore[union-attr]
        elif policy_files(target):
            _load_layer(loaded, target, (*chain, layer.name))
        else:
            known = [p.name for p in directory.parent.iterdir() if p.is_dir() and policy_files(p)]
            loaded.diagnostics.error(
                "N003",
                f"unknown layer `{used}`: no directory {target} with rule files",
                policy.span,  # type: ignore[union-attr]
                hint=suggestion(used, known),
            )
    loaded.layers.append(layer)

"""Which library code each workflow job runs, read from the code itself.

A rule's *code set* is the closure of the kstarlab modules its script imports, by a static
import graph over the package. An edge is:

- an import at module level or inside a function (a lazy import runs when the job calls
  the function, so it counts), absolute (``import kstarlab.x``, ``from kstarlab import x``)
  or relative (``from . import x``); imports under ``if TYPE_CHECKING:`` never run;
- the package above a module: importing ``kstarlab.a.b`` runs ``kstarlab/a/__init__.py``;
- a name of a package's ``_LAZY`` map (PEP 562 ``__getattr__``), imported or read as an
  attribute: ``from kstarlab.workflow.jobs import kstar`` loads ``kstarlab.workflow.jobs.kstar_cells`` only;
- a string that names a kstarlab module, as in ``importlib.import_module("kstarlab.x")``
  or ``resources.files("kstarlab.resources")``.

A package's data files (``resources/*.json``, not the ``py.typed`` marker) belong to it.
The hash of a code set covers the script and every file of the set, ``.py`` files as their
syntax tree without docstrings: comments, docstrings and formatting change no hash. The
rules' ``code`` param is that hash (``code_of`` in ``workflow/rules/common.smk``), so a real
change to a module reruns the jobs of exactly the rules whose set holds it; ``dvc.yaml``'s
library deps are derived from the same sets (`dvc_library_deps`).
``python -m kstarlab.workflow.codesets FILE...`` prints a script's (or a module's) set and hash;
``--dvc dvc.yaml`` checks the deps, ``--fix`` rewrites them.
"""

from __future__ import annotations

import argparse
import ast
import functools
import hashlib
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from kstarlab.errors import InputError

ROOT = Path(__file__).resolve().parents[1]  # the kstarlab package
LAZY_MAP = "_LAZY"  # a package's PEP 562 map: name -> the module that defines it


@dataclass(frozen=True)
class CodeSet:
    """The library code one script runs: its modules, their files, and one hash."""

    script: Path
    modules: tuple[str, ...]
    files: tuple[Path, ...]
    hash: str


class ImportGraph:
    """The static import graph of one package (``kstarlab`` unless told otherwise)."""

    def __init__(self, root: Path | str = ROOT) -> None:
        self.root = Path(root).resolve()
        self.package = self.root.name
        self.paths: dict[str, Path] = {}  # module name -> its .py file
        self.data: dict[str, list[Path]] = {}  # package name -> its data files
        for path in sorted(self.root.rglob("*")):
            rel = path.relative_to(self.root)
            if not path.is_file() or any(p == "__pycache__" or p[0] == "." for p in rel.parts):
                continue
            if path.suffix == ".py":
                parts = [self.package, *rel.with_suffix("").parts]
                if parts[-1] == "__init__":
                    parts.pop()
                self.paths[".".join(parts)] = path
            elif path.suffix not in (".pyc", ".pyo") and path.name != "py.typed":
                self.data.setdefault(self._owner(path), []).append(path)
        self._edges: dict[str, frozenset[str]] = {}
        self._trees: dict[str, Parsed] = {}
        self._lazy: dict[str, dict[str, str]] = {}
        self._dumps: dict[str, bytes] = {}
        self._names = {path: name for name, path in self.paths.items()}

    def _owner(self, path: Path) -> str:
        """The package a data file belongs to: the nearest folder with an __init__.py."""
        folder = path.parent
        while folder != self.root and not (folder / "__init__.py").is_file():
            folder = folder.parent
        return ".".join([self.package, *folder.relative_to(self.root).parts])

    def is_package(self, name: str) -> bool:
        return name in self.paths and self.paths[name].name == "__init__.py"

    def tree(self, name: str) -> Parsed:
        """Module ``name`` parsed (once)."""
        if name not in self._trees:
            self._trees[name] = _parse(self.paths[name])
        return self._trees[name]

    def code_bytes(self, path: Path) -> bytes:
        """What of a file of the package counts as code: a .py file's syntax tree without
        docstrings (so not its comments or formatting), any other file's bytes."""
        name = self.module_of(path) if path.suffix == ".py" else None
        if name is None:
            return path.read_bytes()
        if name not in self._dumps:
            self._dumps[name] = ast.dump(self.tree(name).tree).encode()
        return self._dumps[name]

    def lazy(self, name: str) -> dict[str, str]:
        """A package's ``_LAZY`` map (empty for a module or a package without one)."""
        if name not in self._lazy:
            self._lazy[name] = {}
            for node in self.tree(name).tree.body if self.is_package(name) else []:
                value = _assigned(node, LAZY_MAP)
                if isinstance(value, ast.Dict):
                    self._lazy[name] = {
                        k.value: v.value
                        for k, v in zip(value.keys, value.values, strict=True)
                        if isinstance(k, ast.Constant) and isinstance(v, ast.Constant)
                    }
        return self._lazy[name]

    def edges(self, name: str) -> frozenset[str]:
        """The modules importing ``name`` imports (its parent package included)."""
        if name not in self._edges:
            found = imports_of(self, self.tree(name), name)
            parent = name.rpartition(".")[0]
            if parent in self.paths:
                found.add(parent)
            found.discard(name)
            self._edges[name] = frozenset(found)
        return self._edges[name]

    def closure(self, start: Iterable[str]) -> list[str]:
        """Every module reachable from ``start`` (which it includes), sorted."""
        seen: set[str] = set()
        stack = [m for m in start if m in self.paths]
        while stack:
            name = stack.pop()
            if name not in seen:
                seen.add(name)
                stack.extend(self.edges(name) - seen)
        return sorted(seen)

    def files(self, modules: Iterable[str]) -> list[Path]:
        """The files of ``modules``: their .py files and their packages' data files."""
        out = []
        for name in modules:
            out.append(self.paths[name])
            out += self.data.get(name, []) if self.is_package(name) else []
        return sorted(out)

    def module_of(self, path: Path) -> str | None:
        """The module name of a file of the package (None for any other file)."""
        return self._names.get(path.resolve())

    def code_set(self, path: Path | str) -> CodeSet:
        """The code set of a script (or of a module of the package) and its hash."""
        path = Path(path)
        if not path.is_file():
            raise InputError(f"no such file: {path}")
        own = self.module_of(path)
        if own is not None:
            start, script = {own}, b""
        else:
            try:
                tree = _parse(path)
            except (SyntaxError, UnicodeDecodeError) as exc:
                raise InputError(f"{path}: not a Python file ({exc})") from None
            start, script = imports_of(self, tree, None), ast.dump(tree.tree).encode()
        modules = self.closure(start)
        files = self.files(modules)
        digest = hashlib.sha256(path.name.encode() + b"\0" + script + b"\0")
        for file in files:
            digest.update(file.relative_to(self.root.parent).as_posix().encode() + b"\0")
            digest.update(self.code_bytes(file) + b"\0")
        return CodeSet(path, tuple(modules), tuple(files), digest.hexdigest()[:16])


def _assigned(node: ast.stmt, target: str) -> ast.expr | None:
    """The value ``node`` assigns to the name ``target``, if it does."""
    if isinstance(node, ast.Assign) and any(
        isinstance(t, ast.Name) and t.id == target for t in node.targets
    ):
        return node.value
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return node.value if node.target.id == target else None
    return None


def _type_checking(node: ast.AST) -> bool:
    """``if TYPE_CHECKING:`` or ``if typing.TYPE_CHECKING:``."""
    if not isinstance(node, ast.If):
        return False
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(graph: ImportGraph, parsed: Parsed, name: str | None) -> set[str]:
    """The package's modules that running ``parsed`` (the module ``name``, or a script when
    None) can import, directly: see the module docstring for what counts."""
    modules = graph.paths
    found: set[str] = set()
    aliases: dict[str, str] = {}  # a local name bound to one of the package's modules

    def add(module: str) -> None:
        """``module`` and the packages above it."""
        parts = module.split(".")
        for i in range(1, len(parts) + 1):
            if ".".join(parts[:i]) in modules:
                found.add(".".join(parts[:i]))

    def take(base: str, attr: str) -> str | None:
        """``base.attr`` as a module, or through base's lazy map; the module if any."""
        if f"{base}.{attr}" in modules:
            add(f"{base}.{attr}")
            return f"{base}.{attr}"
        target = graph.lazy(base).get(attr)
        if target in modules:
            add(target)
        return None

    skip: set[int] = set()
    if name is not None and graph.is_package(name):
        for node in parsed.tree.body:  # the lazy map's modules load only when a name is used
            value = _assigned(node, LAZY_MAP)
            if isinstance(value, ast.Dict):
                skip.update(id(v) for v in value.values)
    package = None
    if name is not None:
        package = name if graph.is_package(name) else name.rpartition(".")[0]
    nodes = [node for node in parsed.nodes if id(node) not in skip]
    for node in nodes:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] != graph.package:
                    continue
                add(alias.name)
                if alias.asname and alias.name in modules:
                    aliases[alias.asname] = alias.name
                elif not alias.asname:
                    aliases[graph.package] = graph.package
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                if package is None:
                    continue  # a relative import outside the package
                parts = package.split(".")
                parts = parts[: len(parts) - (node.level - 1)]
                base = ".".join(parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            if base.split(".")[0] != graph.package:
                continue
            add(base)
            for alias in node.names:
                if alias.name == "*":
                    for target in graph.lazy(base).values():
                        add(target)
                    continue
                module = take(base, alias.name)
                if module is not None:
                    aliases[alias.asname or alias.name] = module
        elif isinstance(node, ast.Constant) and node.value in modules:
            add(node.value)
    for node in nodes:  # attribute reads on a bound module: kstarlab.kstar_values
        if isinstance(node, ast.Attribute):
            chain = []
            value: ast.expr = node
            while isinstance(value, ast.Attribute):
                chain.append(value.attr)
                value = value.value
            if isinstance(value, ast.Name) and value.id in aliases:
                base: str | None = aliases[value.id]
                for attr in reversed(chain):
                    base = take(base, attr) if base else None
    return found


@dataclass(frozen=True)
class Parsed:
    """A file's syntax tree without docstrings, and the nodes that can import: imports,
    constants and attribute reads, outside ``if TYPE_CHECKING:`` blocks."""

    tree: ast.Module
    nodes: tuple[ast.AST, ...]


_IMPORTING = (ast.Import, ast.ImportFrom, ast.Constant, ast.Attribute)
_WITH_BODY = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)


def _parse(path: Path, text: str | None = None) -> Parsed:
    """Parse a Python file, or ``text`` (one walk: docstrings dropped, the importing nodes
    collected)."""
    if text is None:
        text = path.read_text(encoding="utf-8")
    tree = ast.parse(text, str(path))
    nodes = []
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, _IMPORTING):
            nodes.append(node)
        elif isinstance(node, _WITH_BODY) and node.body:
            first = node.body[0]
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):  # a docstring is not code: adding, editing or removing one changes nothing
                node.body = node.body[1:] or [ast.Pass()]
        elif _type_checking(node):
            stack.extend(node.orelse)  # type: ignore[attr-defined]
            continue
        stack.extend(ast.iter_child_nodes(node))
    return Parsed(tree, tuple(nodes))


@functools.cache
def graph() -> ImportGraph:
    """The import graph of the installed kstarlab (built once per process)."""
    return ImportGraph(ROOT)


def script_code(script: Path | str) -> CodeSet:
    """The code set of a workflow script: the closure of the kstarlab modules it imports."""
    return graph().code_set(script)


# --------------------------------------------------------------------------- DVC

# A stage's deps in dvc.yaml hold its rule files (workflow/rules/*.smk): the library deps
# are the code sets of their scripts and the modules the workflow itself imports.
RULE_FILE = re.compile(r"^workflow/rules/[\w.-]+\.smk$")
SCRIPT = re.compile(r"""^\s*["'](\.\./scripts/[\w.-]+\.py)["']""", re.M)
SMK_IMPORT = re.compile(
    r"^(?:from[ \t]+kstarlab[\w.]*[ \t]+import[ \t]+(?:\([^)]*\)|[^\n]*)|import[ \t]+kstarlab[^\n]*)",
    re.M,
)


def workflow_modules(repo: Path, smk_files: Sequence[str]) -> list[str]:
    """The closure of the kstarlab modules the Snakefile's own code imports (planning,
    validation, code sets): they shape every stage's DAG and params."""
    start: set[str] = set()
    for rel in smk_files:
        text = (repo / rel).read_text(encoding="utf-8")
        for match in SMK_IMPORT.finditer(text):
            start |= imports_of(graph(), _parse(repo / rel, match.group(0)), None)
    return graph().closure(start)


def library_deps(repo: Path, modules: Iterable[str]) -> list[str]:
    """``modules``' files relative to ``repo``, a package folder standing for all its
    files (recursively) when every one of them is in the set."""
    g = graph()
    files = set(g.files(modules))
    every: dict[Path, list[Path]] = {}
    for file in [*g.paths.values(), *(f for fs in g.data.values() for f in fs)]:
        for folder in file.parents:
            if folder == g.root:
                break
            every.setdefault(folder, []).append(file)
    whole = {folder for folder, fs in every.items() if set(fs) <= files}
    out = set()
    for file in files:
        tops = [f for f in file.parents if f in whole]
        out.add(tops[-1] if tops else file)
    return sorted(p.relative_to(repo).as_posix() for p in out)


def dvc_library_deps(repo: Path | str, spec: dict) -> dict[str, list[str]]:
    """Each stage's library deps derived from its rule files: the code sets of their
    scripts, with the modules of the workflow's own code (`workflow_modules`)."""
    repo = Path(repo).resolve()
    smk = [
        "Snakefile",
        *sorted(str(p.relative_to(repo)) for p in repo.glob("workflow/rules/*.smk")),
    ]
    shared = workflow_modules(repo, smk)
    out = {}
    for name, stage in spec["stages"].items():
        modules = set(shared)
        for rule_file in (d for d in stage.get("deps", []) if RULE_FILE.match(str(d))):
            text = (repo / rule_file).read_text(encoding="utf-8")
            for script in SCRIPT.findall(text):
                modules |= set(script_code((repo / rule_file).parent / script).modules)
        out[name] = library_deps(repo, modules)
    return out


def fix_dvc(repo: Path | str, text: str) -> str:
    """``dvc.yaml``'s text with each stage's library deps (the ``- src/kstarlab...`` lines of
    its deps, which must stand together) replaced by the derived ones."""
    import yaml

    repo = Path(repo).resolve()
    if repo not in graph().root.parents:
        raise InputError(f"the kstarlab in use ({graph().root}) is not the one under {repo}")
    derived = dvc_library_deps(repo, yaml.safe_load(text))
    prefix = graph().root.relative_to(repo).as_posix()
    dep = re.compile(rf"^(\s*)- {re.escape(prefix)}(/\S*)?\s*$")
    out: list[str] = []
    stage = None
    for line in text.splitlines(keepends=True):
        head = re.match(r"^  (\w[\w-]*):\s*$", line)
        stage = head.group(1) if head else stage
        match = dep.match(line)
        if match is None:
            out.append(line)
        elif stage in derived:  # the first library dep: all of them, derived
            out += [f"{match.group(1)}- {d}\n" for d in derived.pop(stage)]
    missing = list(derived)
    if missing:
        raise InputError(f"dvc.yaml: stages {', '.join(missing)} list no {prefix} deps to replace")
    return "".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m kstarlab.workflow.codesets",
        description="The kstarlab modules a workflow script (or a module) runs, and the hash "
        "that reruns its rule; or check dvc.yaml's library deps against them.",
    )
    parser.add_argument("files", nargs="*", type=Path, help="scripts or modules")
    parser.add_argument("--dvc", type=Path, help="check this dvc.yaml's library deps")
    parser.add_argument("--fix", action="store_true", help="with --dvc: rewrite them")
    args = parser.parse_args(argv)
    try:
        for path in args.files:
            code = script_code(path)
            print(f"{path} {code.hash}")
            print("".join(f"  {m}\n" for m in code.modules), end="")
        if args.dvc:
            if not args.dvc.is_file():
                raise InputError(f"no such file: {args.dvc}")
            text = args.dvc.read_text()
            fixed = fix_dvc(args.dvc.resolve().parent, text)
            if fixed != text and not args.fix:
                print(dvc_diff(text, fixed, str(args.dvc)), end="")
                print(f"{args.dvc}: library deps differ from the code sets (--fix rewrites)")
                return 1
            if fixed != text:
                args.dvc.write_text(fixed)
                print(f"{args.dvc}: library deps rewritten")
            else:
                print(f"{args.dvc}: library deps match the code sets")
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def dvc_diff(old: str, new: str, name: str = "dvc.yaml") -> str:
    """A unified diff from ``old`` to ``new``."""
    import difflib

    return "".join(
        difflib.unified_diff(
            old.splitlines(keepends=True), new.splitlines(keepends=True), name, name
        )
    )


if __name__ == "__main__":
    sys.exit(main())

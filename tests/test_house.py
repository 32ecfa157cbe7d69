"""The house rules, read from the source without running it: no import circle between the modules
of fer/, spaces/ and search/ (imports inside functions included), no function over 50 lines and
no module over 300 lines there.

An import is an edge to the most specific module of these packages that it names (`from
search.report import cli` is search.report.cli; `from spaces import SpaceOptions` is spaces);
the packages Python initialises on the way are not edges. Imports by name at run time
(importlib) are not seen.
"""
import ast
from pathlib import Path


ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("fer", "spaces", "search")
MAX_FUNCTION_LINES = 50
MAX_MODULE_LINES = 300



def package_modules(root: Path = ROOT) -> dict[str, Path]:
    """Every module of the three packages by dotted name (a package by its own name)."""
    found = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def most_specific(name: str, names) -> str | None:
    """`name` or the nearest package above it that is one of `names`; None outside them."""
    while name and name not in names:
        name = name.rpartition(".")[0]
    return name or None


def imported(module: str, source: str, names, is_package: bool = False) -> set[str]:
    """The modules among `names` that `source` (the text of `module`) imports, anywhere in it."""
    edges = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            edges |= {most_specific(alias.name, names) for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the module's package, one level up per extra dot
                package = module.split(".") if is_package else module.split(".")[:-1]
                base = ".".join(package[:len(package) - node.level + 1] + ([base] if base else []))
            edges |= {f"{base}.{alias.name}" if f"{base}.{alias.name}" in names else most_specific(base, names)
                      for alias in node.names}
    return edges - {None, module}


def import_graph() -> dict[str, set[str]]:
    modules = package_modules()
    return {name: imported(name, path.read_text(), modules, path.name == "__init__.py")
            for name, path in modules.items()}


def circles(graph: dict[str, set[str]]) -> list[frozenset]:
    """The groups of modules that import each other, directly or round a loop (Tarjan's strongly
    connected components of more than one module)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group, member = set(), None
            while member != node:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
            if len(group) > 1:
                found.append(frozenset(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def function_lengths(module: str, source: str) -> dict[str, int]:
    """Lines from each function's `def` to its last line, by dotted name (methods and nested
    functions under their class or function)."""
    lengths = {}

    def walk(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = f"{prefix}.{child.name}"
                if not isinstance(child, ast.ClassDef):
                    lengths[name] = child.end_lineno - child.lineno + 1
                walk(child, name)
            else:
                walk(child, prefix)

    walk(ast.parse(source), module)
    return lengths


def long_functions() -> dict[str, int]:
    return {name: lines for module, path in package_modules().items()
            for name, lines in function_lengths(module, path.read_text()).items() if lines > MAX_FUNCTION_LINES}


def long_modules() -> dict[str, int]:
    return {module: lines for module, path in package_modules().items()
            if (lines := len(path.read_text().splitlines())) > MAX_MODULE_LINES}


def test_the_readers_see_what_the_rules_are_about():
    names = {"pkg", "pkg.a", "pkg.b", "pkg.sub", "pkg.sub.c"}
    source = ("import os\nimport pkg.sub.c.attr\nfrom . import b\nfrom .sub import c\n"
              "def f():\n    from pkg import thing\n    from ..elsewhere import x\n")
    assert imported("pkg.a", source, names) == {"pkg.sub.c", "pkg.b", "pkg"}
    assert imported("pkg.sub", "from . import c\nfrom .. import a\n", names, is_package=True) == {"pkg.sub.c", "pkg.a"}
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}) == [frozenset("abc")]
    assert circles({"a": {"b"}, "b": set()}) == []
    source = "def f():\n    x = 1\n\n    def g():\n        return x\n    return g\n\n\nclass K:\n    def m(self):\n        pass\n"
    assert function_lengths("m", source) == {"m.f": 6, "m.f.g": 2, "m.K.m": 2}


def test_the_packages_are_read_whole():
    graph = import_graph()
    assert {"fer.constants", "spaces.cnn", "search.report.cli", "search.distributed.chief"} <= set(graph)
    assert "fer.constants" in graph["spaces.common"] and "spaces.recipe" in graph["spaces.cnn"]
    assert not any(m.startswith(("spaces", "search")) for name in graph if name.startswith("fer")
                   for m in graph[name]), "fer/ imports nothing from spaces/ or search/"
    assert not any(m.startswith("search") for name in graph if name.startswith("spaces")
                   for m in graph[name]), "spaces/ imports nothing from search/"


def test_no_import_circle():
    assert [sorted(c) for c in circles(import_graph())] == []


def test_no_function_over_50_lines():
    assert long_functions() == {}


def test_no_module_over_300_lines():
    assert long_modules() == {}

"""The package's layout, as docs/layout.md draws it: no import loop between modules, and the paths that detect
never import the training or the drawn masks."""
import ast

from conftest import ROOT

PACKAGE = ROOT / "facemask"


def module_name(path):
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path):
    """The facemask modules a file imports, at its top or inside a function."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in names if name.startswith("facemask")}


def package_graph():
    modules = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    return {name: {imported for imported in imports_of(path) if imported in modules and imported != name}
            for name, path in modules.items()}


def test_no_module_imports_one_that_imports_it_back():
    graph = package_graph()
    state = {}  # 1: on the current path, 2: done

    def visit(name, path):
        state[name] = 1
        for imported in graph[name]:
            assert state.get(imported) != 1, f"import loop: {' -> '.join(path + [imported])}"
            if imported not in state:
                visit(imported, path + [imported])
        state[name] = 2

    for name in graph:
        if name not in state:
            visit(name, [name])
    assert {"facemask.detectors.caffe_ssd", "facemask.training.classifier", "facemask.pipeline"} <= set(graph)


def test_the_paths_that_detect_never_import_training_or_the_drawn_masks():
    graph = package_graph()
    detecting = {name for name in graph if name.count(".") == 1}  # the modules at the package's top
    for name in detecting:
        reached, stack = set(), [name]
        while stack:
            for imported in graph[stack.pop()] - reached:
                reached.add(imported)
                stack.append(imported)
        assert not {module for module in reached
                    if module.startswith(("facemask.training", "facemask.drawn_masks"))}, name


def test_each_sub_package_says_what_it_owns():
    for folder in ("detectors", "training", "drawn_masks"):
        docstring = ast.get_docstring(ast.parse((PACKAGE / folder / "__init__.py").read_text()))
        assert docstring and len(docstring.splitlines()) <= 4, folder

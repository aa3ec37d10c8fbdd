"""Documentation that cannot rot: the API reference (docs/api.rst, built by Sphinx) lists every
public name, every public name has a docstring with an example, every Python block in the
README and docs/ is a doctest (pytest runs them through --doctest-glob), and CI runs the
README's test command."""

import builtins
import importlib
import inspect
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
API_PAGE = ROOT / "docs" / "api.rst"

# The modules the reference must cover; docs/api.rst may add more, and must also cover every
# public submodule these export (test_every_public_submodule_has_a_section).
REQUIRED_MODULES = [
    "microgradnn",
    "microgradnn.nn",
    "microgradnn.nn.functional",
    "microgradnn.nn.init",
    "microgradnn.nn.utils",
    "microgradnn.optim",
    "microgradnn.optim.lr_scheduler",
    "microgradnn.linalg",
    "microgradnn.jit",
    "microgradnn.gradcheck",
    "microgradnn.experiments",
    "microgradnn.testing",
    "microgradnn.data",
    "microgradnn.viz",
    "microgradnn.io",
]


def api_sections():
    """{module: [(entry, has_page)]}: the autosummary entries under each ``.. automodule::`` of
    docs/api.rst, in order; has_page is True in an autosummary with ``:toctree:`` (the entry
    gets its own page there), False in one without (a link to the page of a re-exported name)."""
    sections = {}
    module = options = None
    for line in API_PAGE.read_text(encoding="utf-8").splitlines():
        if match := re.fullmatch(r"\.\. automodule:: (\S+)", line):
            module, options = match[1], None
            sections[module] = []
        elif line.startswith(".. autosummary::"):
            assert module, f"{API_PAGE}: an autosummary before the first automodule"
            options = set()
        elif options is not None and line.startswith("   ") and line.strip().startswith(":"):
            options.add(line.split(":")[1])
        elif options is not None and line.startswith("   ") and line.strip():
            sections[module].append((line.strip(), "toctree" in options))
        elif line.strip():
            options = None
    return sections


def shadowing_names(module):
    """Public names left out of ``__all__`` because they shadow builtins (``mg.sum``, ``mg.max``)."""
    return [
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and name not in module.__all__
        and hasattr(builtins, name)
        and value is not getattr(builtins, name)
        and not inspect.ismodule(value)
    ]


def public_names(module):
    return list(module.__all__) + shadowing_names(module)


def resolve(module_name, entry):
    """(full path, object) of an autosummary entry, looked up as autosummary does: in the
    current module first, then as a full path."""
    path = entry.lstrip("~")
    for full in (f"{module_name}.{path}", path):
        parts = full.split(".")
        for split in range(len(parts) - 1, 0, -1):
            try:
                obj = importlib.import_module(".".join(parts[:split]))
            except ImportError:
                continue
            try:
                for part in parts[split:]:
                    obj = getattr(obj, part)
            except AttributeError:
                break
            return full, obj
    raise LookupError(f"{API_PAGE.name}: {entry!r} (in {module_name}) names no object")


def public_objects():
    for module_name in api_sections():
        module = importlib.import_module(module_name)
        for name in public_names(module):
            obj = getattr(module, name)
            if inspect.ismodule(obj) or not (inspect.isclass(obj) or callable(obj)):
                continue
            yield f"{module_name}.{name}", obj


def test_the_api_reference_covers_the_required_modules():
    sections = api_sections()
    missing = [name for name in REQUIRED_MODULES if name not in sections]
    assert not missing, f"docs/api.rst has no `.. automodule::` section for {missing}"
    assert {"abs", "max", "min", "pow", "sum"} <= set(shadowing_names(importlib.import_module("microgradnn")))


def test_every_public_submodule_has_a_section():
    sections = api_sections()
    for module_name in sections:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            value = getattr(module, name)
            if inspect.ismodule(value):
                assert value.__name__ in sections, (
                    f"{module_name}.{name} is a public module with no section in docs/api.rst"
                )


@pytest.mark.parametrize("module_name", list(api_sections()))
def test_every_public_name_is_in_the_api_reference(module_name):
    """Each public name of a module is listed in that module's section, and names that object."""
    module = importlib.import_module(module_name)
    listed = {}
    for entry, _ in api_sections()[module_name]:
        name = entry.lstrip("~").rsplit(".", 1)[-1]
        assert name not in listed, f"docs/api.rst lists {module_name}.{name} twice"
        listed[name] = resolve(module_name, entry)[1]
    for name in public_names(module):
        obj = getattr(module, name)
        if inspect.ismodule(obj):
            continue
        assert name in listed, f"{module_name}.{name} is public but missing from its section of docs/api.rst"
        assert listed[name] is obj, f"docs/api.rst: {name} in the {module_name} section is another object"
    stale = sorted(set(listed) - set(public_names(module)))
    assert not stale, f"docs/api.rst lists names {module_name} does not make public: {stale}"


def test_each_object_has_one_page_and_every_link_reaches_one():
    """One page per object (two would be duplicate descriptions); re-exports link to it."""
    pages, links = {}, []
    for module_name, entries in api_sections().items():
        for entry, has_page in entries:
            full, obj = resolve(module_name, entry)
            if has_page:
                assert full not in pages, f"docs/api.rst gives {full} two pages"
                pages[full] = obj
            else:
                links.append((module_name, entry, full))
    objects = [obj for obj in pages.values() if inspect.isclass(obj) or callable(obj)]
    assert len({id(obj) for obj in objects}) == len(objects), "docs/api.rst gives one object two pages"
    for module_name, entry, full in links:
        assert full in pages, f"docs/api.rst: {entry} in the {module_name} section links to {full}, which has no page"


@pytest.mark.parametrize("name, obj", list(public_objects()), ids=lambda v: v if isinstance(v, str) else "")
def test_every_public_name_has_a_docstring_with_an_example(name, obj):
    doc = inspect.getdoc(obj)
    assert doc, f"{name} has no docstring"
    assert ">>>" in doc, f"{name}'s docstring has no example"


def test_every_public_method_of_tensor_module_and_optimizer_has_a_docstring():
    import microgradnn as mg

    for cls in (mg.Tensor, mg.nn.Module, mg.optim.Optimizer, mg.nn.Dense, mg.Function):
        for name, value in vars(cls).items():
            if name.startswith("_"):
                continue
            target = value.fget if isinstance(value, property) else getattr(value, "__func__", value)
            if callable(target):
                assert inspect.getdoc(target), f"{cls.__name__}.{name} has no docstring"


@pytest.mark.parametrize(
    "path",
    [
        "README.md",
        "docs/custom-ops.md",
        "docs/gradient-checking.md",
        "docs/checkpoints.md",
        "docs/experiments.md",
        "docs/compile.md",
    ],
)
def test_every_python_block_in_the_docs_is_a_doctest(path):
    text = (ROOT / path).read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert blocks, f"{path} has no Python examples"
    for block in blocks:
        assert block.lstrip().startswith(">>>"), (
            f"{path}: a Python block is not a doctest, so no test runs it:\n{block}"
        )


def test_ci_runs_exactly_the_readme_test_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = re.findall(r"```bash\n(.*?)\n```", readme.split("## Quickstart")[1].split("\n## ")[0], re.S)
    assert len(commands) == 2, commands
    install_and_run, install_and_test = commands
    assert "pip install ." in install_and_run and "microgradnn train" in install_and_run
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert install_and_test in ci.splitlines()

"""Documentation that cannot rot: the API reference matches the docstrings, every public name
has a docstring with an example, every Python block in the README and docs/ is a doctest
(pytest runs them through --doctest-glob), and CI runs the README's test command."""

import importlib.util
import inspect
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def load_generator():
    spec = importlib.util.spec_from_file_location("generate_api", ROOT / "docs" / "generate_api.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def public_objects():
    generator = load_generator()
    for module_name in generator.MODULES:
        module = importlib.import_module(module_name)
        for name in list(module.__all__) + generator.SHADOWING.get(module_name, []):
            obj = getattr(module, name)
            if inspect.ismodule(obj) or not (inspect.isclass(obj) or callable(obj)):
                continue
            yield f"{module_name}.{name}", obj


def test_api_reference_is_generated_from_the_current_docstrings():
    expected = load_generator().generate()
    actual = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    assert actual == expected, "docs/api.md is out of date: run `python docs/generate_api.py`"


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


@pytest.mark.parametrize("path", ["README.md", "docs/custom-ops.md", "docs/gradient-checking.md"])
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

"""Sphinx configuration: ``sphinx-build -W -b html docs docs/_build/html``.

The README and the guides stay Markdown (myst-parser), so pytest keeps running their examples
as doctests; the API reference, ``api.rst``, lists every public name, and autosummary writes one
stub page per name into ``generated/`` (git-ignored) at build time, which autodoc fills from
the docstrings. Nothing here reaches the network (no intersphinx).
"""

import shutil
import sys
from pathlib import Path
from typing import Any

# Document the working tree, not whatever microgradnn happens to be installed.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import microgradnn  # noqa: E402

project = "microgradnn"
author = "microgradnn contributors"
copyright = "microgradnn contributors"
version = release = microgradnn.__version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]

# Each object is documented once, on the stub page of the path api.rst lists it under; a
# module that re-exports it links to that page (see api.rst).
autosummary_generate = True
autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "signature"
autodoc_preserve_defaults = True
add_module_names = False

# The docstrings are plain reStructuredText with doctest examples; napoleon reads any Google-
# or NumPy-style sections (Args:, Returns:, Parameters / ----------) that one may add.
napoleon_google_docstring = True
napoleon_numpy_docstring = True

# GitHub-style anchors on headings, so links such as README.md#quickstart work on the site too.
myst_heading_anchors = 3

html_theme = "pydata_sphinx_theme"
html_title = f"microgradnn {release}"
html_theme_options = {"show_toc_level": 2}


def _drop_the_type_docstring(app: Any, what: str, name: str, obj: Any, options: Any, lines: list[str]) -> None:
    """A constant with no docstring comment (``io.FORMAT``) would show its type's docstring
    (``str(object='') -> str``...): autodoc reads ``obj.__doc__``, which an instance inherits."""
    type_doc = type(obj).__doc__
    if what in ("data", "attribute") and not isinstance(obj, type) and isinstance(type_doc, str):
        first = type_doc.strip().splitlines()[:1]
        if lines and first and lines[0].strip() == first[0].strip():
            lines.clear()


def _clear_the_stubs(app: Any) -> None:
    """Let autosummary write generated/ afresh: a stub left from a name since removed or renamed
    would fail the build (-W), and a kept stub hides docstring edits from an incremental build."""
    shutil.rmtree(Path(app.srcdir) / "generated", ignore_errors=True)


def setup(app: Any) -> None:
    # Before autosummary's own builder-inited handler (priority 500) writes the stubs.
    app.connect("builder-inited", _clear_the_stubs, priority=100)
    app.connect("autodoc-process-docstring", _drop_the_type_docstring)

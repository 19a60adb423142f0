"""Sphinx configuration: the sknn documentation site.

Build it (offline, warnings as errors) from the project's root with::

    pip install -e ".[docs]"
    python -m sphinx -W --keep-going -b html docs docs/_build/html

The API reference is written from ``sknn.__all__`` and the public modules at
every build (see ``write_api_reference``), so a name added to the package shows
up without editing these pages. The gallery executes ``examples/plot_*.py``.
"""

import importlib
import inspect
import os
import pkgutil
import re
import sys
import warnings
from pathlib import Path

import sknn

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS))

project = "sknn"
author = "the sknn developers"
copyright = "the sknn developers"
version = release = sknn.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py"]
templates_path = ["_templates"]

# Everything resolves locally: no intersphinx inventories are downloaded.
autosummary_generate = True
autodoc_default_options = {"members": True, "member-order": "bysource"}
autodoc_typehints = "none"
# scikit-learn's inherited methods carry cross-references to its own glossary;
# numpydoc lists only the methods sknn defines.
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

myst_enable_extensions = ["dollarmath", "colon_fence"]
myst_heading_anchors = 3

html_theme = "pydata_sphinx_theme"
html_title = f"sknn {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc", "sourcelink"],
}
html_static_path = []
html_show_sourcelink = True

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    # Only plot_*.py files are gallery pages; other scripts in examples/ are
    # command-line tools.
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"(?:^|/)(?!plot_)[^/]*\.py$",
    "within_subsection_order": "FileNameSortKey",
    "doc_module": ("sknn",),
    "backreferences_dir": "generated/backreferences",
    "reference_url": {"sknn": None},
    "download_all_examples": False,
    "remove_config_comments": True,
    "min_reported_time": 1,
    "matplotlib_animations": False,
    "image_scrapers": ("matplotlib",),
    "write_computation_times": False,
}

# The examples print their progress; matplotlib must not try to open windows.
os.environ.setdefault("MPLBACKEND", "Agg")
warnings.filterwarnings(
    "ignore",
    category=UserWarning,
    message="Matplotlib is currently using agg",
)


def _public_names(module):
    """The names a module makes public: its ``__all__``, else what it defines."""
    if hasattr(module, "__all__"):
        return [n for n in module.__all__ if not n.startswith("_")]
    names = []
    for name, obj in vars(module).items():
        if name.startswith("_"):
            continue
        if (inspect.isclass(obj) or inspect.isfunction(obj)) and (
            obj.__module__ == module.__name__
        ):
            names.append(name)
        elif name.isupper() and not inspect.ismodule(obj):
            names.append(name)  # a table such as COSTS, or a constant
    return names


def _public_modules():
    for info in pkgutil.iter_modules(sknn.__path__):
        if not info.name.startswith("_"):
            yield importlib.import_module(f"sknn.{info.name}")


def write_api_reference(path):
    """Write the API reference page from ``sknn.__all__`` and the public modules.

    Each public name is documented once: where ``sknn`` exports it, else in the
    first public module that does.
    """
    documented = {}
    lines = [
        ".. This page is written by docs/conf.py at every build; do not edit.",
        "",
        "API reference",
        "=============",
        "",
        "Every public name of the package: what ``sknn`` exports, then each public",
        "module. The docstrings cite the book's equation numbers.",
        "",
    ]

    def section(title, module_name, names, intro):
        entries = []
        for name in names:
            obj = getattr(importlib.import_module(module_name), name)
            if inspect.ismodule(obj):
                continue  # documented in its own section below
            key = id(obj)
            if key in documented:
                continue
            documented[key] = f"{module_name}.{name}"
            template = (
                "class.rst"
                if inspect.isclass(obj)
                else "function.rst"
                if callable(obj)
                else "data.rst"
            )
            entries.append((template, name))
        lines.extend([title, "-" * len(title), "", intro, ""])
        lines.extend([f".. currentmodule:: {module_name}", ""])
        for template in ("class.rst", "function.rst", "data.rst"):
            group = [name for t, name in entries if t == template]
            if group:
                lines.extend(
                    [
                        ".. autosummary::",
                        "   :toctree: generated/",
                        f"   :template: autosummary/{template}",
                        "",
                    ]
                )
                lines.extend(f"   {name}" for name in group)
                lines.append("")

    top = [n for n in sknn.__all__ if not n.startswith("__")]
    section(
        ":mod:`sknn`",
        "sknn",
        top,
        ".. automodule:: sknn\n   :no-members:\n   :no-index:\n\n"
        f"``sknn.__version__`` is ``{sknn.__version__!r}``.",
    )
    for module in _public_modules():
        names = _public_names(module)
        section(
            f":mod:`{module.__name__}`",
            module.__name__,
            names,
            f".. automodule:: {module.__name__}\n   :no-members:",
        )
    text = "\n".join(lines)
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


write_api_reference(DOCS / "api.rst")

ROOT = DOCS.parent


def _skip_member(app, what, name, obj, skip, options):
    """Leave out what autodoc cannot or should not render.

    ufuncs used as ``fn`` (e.g. ``Sigmoid.fn = expit``) have no Python
    signature; the ``set_*_request`` methods come from scikit-learn's metadata
    routing, with docstrings that refer to scikit-learn's own glossary.
    """
    import numpy as np

    if isinstance(obj, np.ufunc):
        return True
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return skip


_SHAPE = re.compile(r"shape \(([^)]*)\)")
_FITTED_NAME = re.compile(r"(?<![`\w])([A-Za-z]\w*_)(?![`\w])")


def _quote_fitted_names_in_shapes(app, what, name, obj, options, lines):
    """Quote fitted-attribute names in shapes: ``of shape (n_features_in_,)``.

    scikit-learn's docstring style writes shapes with fitted attributes; in
    reStructuredText a word ending in ``_`` is a hyperlink reference, which
    would fail the build.
    """

    def quote(match):
        return "shape (" + _FITTED_NAME.sub(r"`\1`", match.group(1)) + ")"

    lines[:] = [_SHAPE.sub(quote, line) for line in lines]


def _other_pages():
    """Markdown pages in docs/ that index.md does not list, one per line.

    Pages added to docs/ join the table of contents without editing index.md.
    """
    listed = (DOCS / "index.md").read_text()
    extra = [
        page.stem
        for page in sorted(DOCS.glob("*.md"))
        if page.stem != "index" and f"\n{page.stem}\n" not in listed
    ]
    return "".join(f"{name}\n" for name in extra)


def _source_read(app, docname, source):
    """Serve benchmarks/README.md as a page and point the Markdown links at pages.

    The Markdown pages are written to read well on GitHub, where they link to
    files by path (``../benchmarks/README.md``, ``../docs/tuning.md``); here
    those files are pages of the site.
    """
    text = source[0]
    if docname == "index":
        text = text.replace(
            "\nchangelog\n```", "\nchangelog\n" + _other_pages() + "```"
        )
    if docname == "benchmark_results":
        text = (ROOT / "benchmarks" / "README.md").read_text()
    text = text.replace("](../benchmarks/README.md)", "](benchmark_results.md)")
    text = text.replace("](../docs/", "](")
    source[0] = text


def setup(app):
    app.connect("autodoc-skip-member", _skip_member)
    app.connect(
        "autodoc-process-docstring", _quote_fitted_names_in_shapes, priority=400
    )
    app.connect("source-read", _source_read)

"""Sphinx configuration: the user guide (docs/*.md) and the API reference (docs/api/).

The reference is generated from the packages' public names: each page holds one
``public-api`` directive, which documents the package's ``__all__`` and every public submodule
with an ``__all__`` of its own (the integrations: ``cipso.scapy``, ``mls.strategies``, ...),
so that a name added, renamed or moved needs no edit here. Build it with ``scripts/docs``;
the tests build it with warnings as errors.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import nested_parse_with_titles

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mls import __version__  # noqa: E402

project = "labelnet"
release = __version__
extensions = ["myst_parser", "sphinx.ext.autodoc"]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build"]
autodoc_member_order = "bysource"
# A public name is documented even before it has a docstring (constants, type aliases).
autodoc_default_options = {"undoc-members": True}
myst_heading_anchors = 3
# Hypothesis's composite strategies hide their module, so a type in their signature stays a
# bare name ("MapType") that cipso and calipso both define: Sphinx then makes no link and
# says so. That is the only warning of this kind; a guide link to a missing name still fails.
suppress_warnings = ["ref.python"]
html_theme = "alabaster"


def _public_names(module: ModuleType) -> list[str]:
    return [str(name) for name in getattr(module, "__all__", ())]


def _public_submodules(package: ModuleType) -> list[ModuleType]:
    """The package's submodules without a leading underscore that declare ``__all__``."""
    found = []
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        if any(part.startswith("_") for part in info.name.split(".")):
            continue
        module = importlib.import_module(info.name)
        parent, _, last = info.name.rpartition(".")
        # cipso.validate the function hides cipso.validate the module: its names are the
        # package's, and its anchor would collide with the function's.
        shadowed = getattr(sys.modules[parent], last, None) is not module
        if hasattr(module, "__all__") and not shadowed:
            found.append(module)
    return found


def _module_directives(module: ModuleType, names: list[str]) -> list[str]:
    """automodule for the module's classes and functions among ``names``, autodata for the rest.

    Names are listed explicitly: autodoc leaves out imported constants and type aliases, and
    looks names up in the module's namespace, where one that a package's ``__getattr__``
    imports on first use (netlabel.NetLabel) is not yet.
    """
    for name in names:
        vars(module).setdefault(name, getattr(module, name))
    # A class a lower package defines and this one re-exports (cipso.VerdictKind is
    # mls.verdict.VerdictKind) is described where it is defined; here it is named and points
    # there, since two packages describing it would both claim its canonical name.
    floor = module.__name__.partition(".")[0]
    shared = [
        name
        for name in names
        if inspect.isclass(getattr(module, name))
        and not getattr(module, name).__module__.startswith(floor)
    ]
    names = [name for name in names if name not in shared]
    code = [name for name in names if inspect.isclass(getattr(module, name))]
    code += [name for name in names if inspect.isroutine(getattr(module, name))]
    lines = [f".. automodule:: {module.__name__}"]
    if code:
        lines.append(f"   :members: {', '.join(name for name in names if name in code)}")
    lines.append("")
    for name in names:
        if name not in code:
            lines += [f".. autodata:: {module.__name__}.{name}", ""]
    for name in shared:
        defined = getattr(module, name)
        lines += [
            f".. py:class:: {name}",
            "",
            f"   The same class as :class:`{defined.__module__}.{defined.__qualname__}`.",
            "",
        ]
    return lines


class PublicApi(SphinxDirective):
    """``.. public-api:: package``: the package's public names, then its public submodules'."""

    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        package = importlib.import_module(self.arguments[0])
        names = _public_names(package)
        lines = _module_directives(package, names)
        # (name, object) pairs: two equal small ints are one object, yet two constants.
        documented = {(name, id(getattr(package, name))) for name in names}
        for module in _public_submodules(package):
            # A name the package re-exports is documented once, under the package.
            names = [
                name
                for name in _public_names(module)
                if (name, id(getattr(module, name))) not in documented
            ]
            documented.update((name, id(getattr(module, name))) for name in names)
            title = f"``{module.__name__}``"
            lines += [title, "-" * len(title), "", *_module_directives(module, names)]
        container = nodes.section()
        source = StringList(lines, self.get_source_info()[0])
        nested_parse_with_titles(self.state, source, container)
        return list(container.children)


def _anchor_python_objects(app: Sphinx, env: BuildEnvironment) -> None:
    # A guide page links into the reference as [cipso.decode](api/cipso.rst#cipso.decode),
    # which also works on a forge's file view; MyST resolves such a link only to a label, so
    # every documented object becomes one (a wrong name stays a warning, hence an error).
    labels = env.domaindata["std"]["anonlabels"]
    for name, entry in env.domaindata["py"]["objects"].items():
        labels.setdefault(name, (entry[0], entry[1]))


def _drop_the_type_docstring(*event: Any) -> None:
    # autodoc-process-docstring(app, what, name, obj, options, lines). A constant has no
    # docstring of its own; autodoc would show its type's (int's).
    _app, what, _name, obj, _options, lines = event
    if what == "data" and inspect.getdoc(type(obj)) == "\n".join(lines).strip():
        lines.clear()


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("autodoc-process-docstring", _drop_the_type_docstring)
    app.add_directive("public-api", PublicApi)
    app.connect("env-updated", _anchor_python_objects)
    return {"parallel_read_safe": True}

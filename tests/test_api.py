"""The public API: what each package names in `__all__` imports, `import hill_viz` stays light,
and the README's Python example runs as written."""
import importlib
import pkgutil
import re
import subprocess
import sys
import types
from pathlib import Path

import pytest

import hill_viz

README = Path(__file__).resolve().parents[1] / "README.md"


def packages() -> list[str]:
    found = [hill_viz.__name__]
    for info in pkgutil.walk_packages(hill_viz.__path__, prefix="hill_viz."):
        if info.ispkg:
            found.append(info.name)
    return found


@pytest.mark.parametrize("name", packages())
def test_every_package_names_its_api_and_every_name_imports(name):
    package = importlib.import_module(name)
    exported = getattr(package, "__all__", None)
    assert exported, f"{name} has no __all__"
    assert len(set(exported)) == len(exported)
    for attr in exported:
        value = getattr(package, attr)
        assert value is not None, f"{name}.{attr}"
        if isinstance(value, types.ModuleType):  # only hill_viz.errors is exported as a module
            assert value is hill_viz.errors


def test_top_level_names_are_the_engines_own_objects():
    from hill_viz.core.data import load_dataset
    from hill_viz.core.edits import Edit, Selector
    from hill_viz.session import Session

    assert (hill_viz.Session, hill_viz.Edit, hill_viz.Selector, hill_viz.load_dataset) == \
        (Session, Edit, Selector, load_dataset)
    assert {"Session", "Edit", "Selector", "load_dataset", "HillError"} <= set(hill_viz.__all__) <= set(dir(hill_viz))
    with pytest.raises(AttributeError, match="has no attribute 'Sesion'"):
        hill_viz.Sesion  # noqa: B018


def test_import_hill_viz_loads_neither_torch_nor_panel():
    code = ("import sys, hill_viz, hill_viz.cli, hill_viz.core.data; "
            "print(sorted(m for m in ('torch', 'panel', 'bokeh', 'holoviews') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def readme_python() -> str:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)
    assert len(blocks) == 1, "the README has one Python example"
    return blocks[0]


@pytest.mark.slow
def test_the_readme_python_example_runs(tmp_path, monkeypatch, capsys):
    code = readme_python()
    assert code.startswith("from hill_viz import ")  # the example imports from the top level
    monkeypatch.chdir(tmp_path)
    exec(compile(code, str(README), "exec"), {"__name__": "readme_example"})
    severity, val_acc = capsys.readouterr().out.splitlines()[-2:]
    assert severity.split()[0] in ("ok", "warn", "alert")
    assert 0.5 < float(val_acc) <= 1.0
    assert (tmp_path / "workspaces" / "mine" / "hill.sqlite").exists()

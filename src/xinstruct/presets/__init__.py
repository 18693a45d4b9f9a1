"""Built-in experiment files, by name: the lab demo, one preset per paper, and the papers' lab twins.

`xinstruct presets` lists them; every command that takes an experiment file also takes a preset name
(`xinstruct run pinch --set model=... --out DIR`). Names:
- `demo`: the lab demo (`lab_demo.yaml`, what `xinstruct demo` runs);
- `<paper>` (`papers/<paper>.yaml`): the paper's grid on real models and data;
- `lab/<paper>` (`lab/<paper>.yaml`): its lab twin, minutes on a laptop CPU (`xinstruct demo --paper`).
A file's first comment line is its one-line description.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

PAPERS = ("english-only", "pinch", "crossalpaca", "crossin", "templates")


def root() -> Path:
    return Path(str(resources.files("xinstruct") / "presets"))


def presets() -> dict[str, Path]:
    """{name: file} of every built-in experiment file."""
    base = root()
    found = {"demo": base / "lab_demo.yaml"}
    found.update({p.stem: p for p in sorted((base / "papers").glob("*.yaml"))})
    found.update({f"lab/{p.stem}": p for p in sorted((base / "lab").glob("*.yaml"))})
    return found


def describe(path: Path) -> str:
    """The file's first comment line."""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            return line.lstrip("# ").strip()
    return ""


def resolve(experiment: str | Path) -> Path:
    """An experiment file's path, or the file of the preset named so (a file of that name wins)."""
    path = Path(experiment)
    if path.is_file():
        return path
    return presets().get(str(experiment), path)

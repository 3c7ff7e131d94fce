"""What a wheel ships: every directory of Python modules under stt_arena is a regular package (a namespace
package is silently left out by setuptools' find_packages), and the data files the package reads."""
from pathlib import Path

from setuptools import find_packages

ROOT = Path(__file__).resolve().parents[1]


def test_every_module_directory_is_a_shipped_package():
    found = set(find_packages(str(ROOT), include=["stt_arena*"]))
    dirs = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "stt_arena").rglob("*.py")
            if "__pycache__" not in p.parts and p.parent.name != "envs"}  # envs: text read as data
    assert dirs - found == set()


def test_package_data_covers_the_files_read_at_run_time():
    import tomllib
    pats = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["stt_arena"]
    pkg = ROOT / "stt_arena"
    needed = [p for ext in ("*.jsonl", "*.json", "*.md", "*.html") for p in pkg.rglob(ext)] + \
        list((pkg / "domains" / "envs").glob("*.py"))
    shipped = {f for pat in pats for f in pkg.glob(pat)}
    missing = [str(p.relative_to(pkg)) for p in needed if p not in shipped and "__pycache__" not in p.parts]
    assert not missing, missing

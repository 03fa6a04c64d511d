"""The distribution is built from the files git knows, as a checkout without symlinks would have them.

agent/, graphs/ and tools/ install as explore_instruct.{agent,graphs,tools} through setuptools' package-dir
mapping (pyproject.toml); `explore_instruct` is a namespace package. Here the tracked and untracked-not-ignored
files are copied to a scratch folder (a symlink becomes a small text file holding its target, as git writes it
with core.symlinks=false), `python -m build --no-isolation` builds the sdist and from it the wheel, and the
wheel must hold every module and data file, the license, and nothing outside explore_instruct/; unpacked on
its own it must import without this repo on sys.path.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG_DIRS = ("agent", "graphs", "tools")
DATA_SUFFIXES = (".yaml", ".json")


def _git(*args: str) -> str:
    try:
        out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60)
    except (OSError, subprocess.CalledProcessError) as e:
        pytest.skip(f"not a git checkout ({e}); this test builds from the files git knows")
    return out.stdout


def _repo_files() -> list[str]:
    """Tracked files plus untracked ones that are not ignored (modules being added right now count)."""
    listed = _git("ls-files", "-z", "--cached", "--others", "--exclude-standard").split("\0")
    # A tracked file deleted in the work tree but not yet in the index is gone from any new checkout too.
    return sorted({p for p in listed if p and os.path.lexists(ROOT / p)})


def _package_files(files: list[str]) -> list[str]:
    return [f for f in files if f.split("/", 1)[0] in PKG_DIRS and "__pycache__" not in f.split("/")]


@dataclass(frozen=True)
class Built:
    files: list[str]
    wheel: Path
    wheel_names: set[str]
    sdist_names: set[str]
    dist_info: str


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    try:
        import build  # noqa: F401
    except ImportError:
        pytest.fail("the `build` package is missing: pip install -e '.[dev]'")
    files = _repo_files()
    base = tmp_path_factory.mktemp("packaging")
    src, out = base / "checkout", base / "dist"
    for rel in files:
        source, dest = ROOT / rel, src / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            dest.write_text(os.readlink(source))  # what a checkout without symlink support holds
        else:
            shutil.copyfile(source, dest)
    # sdist first, then the wheel from the unpacked sdist: a file missing from the sdist fails here too.
    proc = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(src)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, f"python -m build failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    (wheel,) = out.glob("*.whl")
    (sdist,) = out.glob("*.tar.gz")
    with zipfile.ZipFile(wheel) as zf:
        wheel_names = set(zf.namelist())
    with tarfile.open(sdist) as tf:
        sdist_names = {m.name for m in tf.getmembers()}
    (dist_info,) = {n.split("/", 1)[0] for n in wheel_names if n.split("/", 1)[0].endswith(".dist-info")}
    return Built(files, wheel, wheel_names, sdist_names, dist_info)


def test_no_symlink_in_the_tree() -> None:
    # Stored as a link in git (mode 120000; a checkout with core.symlinks=false shows it as a plain file) or
    # a link in the work tree. A link already deleted here but not yet in the index is on its way out.
    staged = [line.split("\t", 1)[1] for line in _git("ls-files", "-s").splitlines() if line.startswith("120000 ")]
    links = sorted(
        {f for f in staged if os.path.lexists(ROOT / f)} | {f for f in _repo_files() if (ROOT / f).is_symlink()}
    )
    assert not links, f"symlinks in the repository (a checkout without symlink support breaks them): {links}"


def test_every_module_and_data_file_is_in_the_wheel(built: Built) -> None:
    pkg_files = _package_files(built.files)
    wanted = [f for f in pkg_files if f.endswith((".py", *DATA_SUFFIXES)) or f.rsplit("/", 1)[-1] == "py.typed"]
    assert any(f.endswith(".py") for f in wanted), f"no module found under {PKG_DIRS}"
    missing = [f for f in wanted if f"explore_instruct/{f}" not in built.wheel_names]
    assert not missing, (
        f"not in the wheel: {missing}. A new subpackage (a folder with __init__.py) goes into "
        "[tool.setuptools] packages in pyproject.toml; data files must match [tool.setuptools.package-data]."
    )
    for d in PKG_DIRS:
        assert f"explore_instruct/{d}/py.typed" in built.wheel_names


def test_wheel_installs_nothing_outside_its_namespace(built: Built) -> None:
    stray = [n for n in built.wheel_names if not n.startswith(("explore_instruct/", f"{built.dist_info}/"))]
    assert not stray, f"the wheel would put these at the top of site-packages: {stray}"
    # A namespace package: no explore_instruct/__init__.py that another checkout could lack or shadow.
    assert "explore_instruct/__init__.py" not in built.wheel_names


def test_license_is_shipped(built: Built) -> None:
    assert f"{built.dist_info}/licenses/LICENSE" in built.wheel_names
    assert any(n.count("/") == 1 and n.endswith("/LICENSE") for n in built.sdist_names), sorted(built.sdist_names)
    with zipfile.ZipFile(built.wheel) as zf:
        metadata = zf.read(f"{built.dist_info}/METADATA").decode()
    assert "License-Expression: Apache-2.0" in metadata
    assert "License-File: LICENSE" in metadata
    assert "Copyright 2026 The explore-instruct authors" in (ROOT / "LICENSE").read_text()


@pytest.fixture
def unpacked(built: Built, tmp_path: Path) -> Iterator[Path]:
    site = tmp_path / "site"
    with zipfile.ZipFile(built.wheel) as zf:
        zf.extractall(site)
    yield site


def test_wheel_imports_without_the_repo(unpacked: Path, tmp_path: Path) -> None:
    # -S: no .pth files, so the editable install's link tree (build/__editable__.*) is not on sys.path; the
    # dependencies come from this environment's site-packages, the project only from the unpacked wheel.
    paths = dict.fromkeys([str(unpacked), sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    code = (
        "import sys, explore_instruct, explore_instruct.tools.tree.model as t, explore_instruct.graphs.state as s\n"
        f"site = {str(unpacked)!r}\n"
        "assert list(explore_instruct.__path__) == [site + '/explore_instruct'], explore_instruct.__path__\n"
        "assert t.__file__.startswith(site) and s.__file__.startswith(site), (t.__file__, s.__file__)\n"
        f"assert not [p for p in sys.path if p == {str(ROOT)!r} or '__editable__' in p], sys.path\n"
        "print('ok')\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP")}
    env["PYTHONPATH"] = os.pathsep.join(paths)
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    proc = subprocess.run(
        [sys.executable, "-S", "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stdout + proc.stderr

"""The distribution installs and imports in a clean environment, from source and from a wheel."""

from __future__ import annotations

import email
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
IMPORT_ALL = (
    "import session_analytics, fullstory_api, smartlook_api; print(session_analytics.__version__)"
)
# httpcore is httpx's own core, named because track() posts through it directly.
CORE_REQUIREMENTS = {"httpx", "httpcore", "attrs", "python-dateutil", "orjson"}


def run(*argv: str | Path, cwd: Path | None = None) -> str:
    proc = subprocess.run(
        [str(a) for a in argv], capture_output=True, text=True, check=False, cwd=cwd
    )
    assert proc.returncode == 0, f"{argv} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def fresh_python(where: Path) -> Path:
    venv.EnvBuilder(with_pip=True, clear=True).create(where)
    return where / "bin" / "python"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    run(sys.executable, "-m", "build", "--wheel", "--outdir", out, ROOT)
    (built,) = out.glob("session_analytics-*.whl")
    return built


def test_wheel_holds_the_three_packages_typed(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for package in ("session_analytics", "fullstory_api", "smartlook_api"):
        assert f"{package}/__init__.py" in names
        assert f"{package}/py.typed" in names
    assert "fullstory_api/api/users/create_user.py" in names
    assert "smartlook_api/api/backend/send_backend_events.py" in names
    assert not any(name.startswith(("tests/", "facade/", "generated/")) for name in names)


def test_wheel_core_dependencies_are_the_core_libraries(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        (meta_name,) = [n for n in zf.namelist() if n.endswith(".dist-info/METADATA")]
        meta = email.message_from_string(zf.read(meta_name).decode())
    requires = meta.get_all("Requires-Dist") or []
    core = {r.split(">")[0].split("<")[0].split("=")[0].strip() for r in requires if ";" not in r}
    assert core == CORE_REQUIREMENTS
    extras = set(meta.get_all("Provides-Extra") or [])
    assert {"sandbox", "cli", "http2", "all", "dev"} <= extras
    assert meta["Name"] == "session-analytics"
    assert meta["Requires-Python"] == ">=3.10"


@pytest.mark.slow
def test_installed_wheel_imports_in_a_clean_venv(wheel: Path, tmp_path: Path) -> None:
    python = fresh_python(tmp_path / "venv")
    run(python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", wheel)
    assert run(python, "-c", IMPORT_ALL, cwd=tmp_path).strip() == _version()
    listed = run(python, "-m", "pip", "list", "--format=freeze", "--disable-pip-version-check")
    installed = {line.split("==")[0].lower() for line in listed.splitlines()}
    assert "starlette" not in installed
    assert "rich" not in installed


@pytest.mark.slow
def test_pip_install_of_the_source_tree_imports_in_a_clean_venv(tmp_path: Path) -> None:
    python = fresh_python(tmp_path / "venv")
    run(python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", ROOT)
    assert run(python, "-c", IMPORT_ALL, cwd=tmp_path).strip() == _version()


def _version() -> str:
    namespace: dict[str, str] = {}
    exec((ROOT / "facade/session_analytics/_version.py").read_text(), namespace)  # noqa: S102
    return namespace["__version__"]

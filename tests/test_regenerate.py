"""`make check-generated` must notice any drift between openapi/ and generated/."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "regenerate.py"


def run_check(spec_dir: Path, generated_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--check",
            "--spec-dir",
            str(spec_dir),
            "--generated-dir",
            str(generated_dir),
        ],
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture
def spec_copy(tmp_path: Path) -> Path:
    target = tmp_path / "openapi"
    shutil.copytree(ROOT / "openapi", target)
    return target


def test_generated_matches_the_specs() -> None:
    result = run_check(ROOT / "openapi", ROOT / "generated")
    assert result.returncode == 0, result.stderr
    assert "generated/ matches openapi/" in result.stdout


def test_a_changed_spec_is_detected(spec_copy: Path) -> None:
    spec = spec_copy / "fullstory.yaml"
    text = spec.read_text(encoding="utf-8")
    marker = (
        "    CreateUserResponse:\n      type: object\n      required: [id]\n      properties:\n"
    )
    assert marker in text
    spec.write_text(
        text.replace(marker, marker + "        created:\n          type: boolean\n"),
        encoding="utf-8",
    )

    result = run_check(spec_copy, ROOT / "generated")

    assert result.returncode == 1
    assert "create_user_response.py" in result.stderr
    assert "+    created: bool | Unset = UNSET" in result.stderr
    assert "run `make regenerate`" in result.stderr


def test_a_hand_edit_of_generated_code_is_detected(tmp_path: Path) -> None:
    generated = tmp_path / "generated"
    shutil.copytree(ROOT / "generated", generated, ignore=shutil.ignore_patterns("__pycache__"))
    target = generated / "fullstory_api" / "models" / "job_status.py"
    target.write_text(target.read_text(encoding="utf-8") + "# edited by hand\n", encoding="utf-8")
    (generated / "smartlook_api" / "extra.py").write_text("x = 1\n", encoding="utf-8")

    result = run_check(ROOT / "openapi", generated)

    assert result.returncode == 1
    assert "job_status.py" in result.stderr
    assert "# edited by hand" in result.stderr
    assert "not produced by the specs: smartlook_api/extra.py" in result.stderr


def test_a_generator_warning_fails_the_build(spec_copy: Path, tmp_path: Path) -> None:
    spec = spec_copy / "smartlook.yaml"
    text = spec.read_text(encoding="utf-8")
    # A response media type the generator cannot parse makes it warn and skip the operation.
    bad = text.replace(
        '                $ref: "#/components/schemas/EventsAccepted"\n',
        '                $ref: "#/components/schemas/NoSuchSchema"\n',
    )
    assert bad != text
    spec.write_text(bad, encoding="utf-8")

    result = run_check(spec_copy, tmp_path / "generated")

    assert result.returncode == 1
    assert "smartlook.yaml: the generator failed or warned" in result.stderr

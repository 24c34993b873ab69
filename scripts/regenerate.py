"""Compile openapi/*.yaml into the low-level clients under generated/, or check that they match.

    python scripts/regenerate.py            # rewrite generated/ from openapi/
    python scripts/regenerate.py --check    # regenerate into a temp dir, fail on any difference

Each spec `openapi/<name>.yaml` has its generator settings in `openapi/<name>.config.yaml`; the
package name comes from that config (`package_name_override`). The generator must finish without a
single warning, and every generated package gets a `py.typed` marker.
"""

from __future__ import annotations

import argparse
import difflib
import filecmp
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IGNORED_NAMES = {"__pycache__", ".ruff_cache"}


def _package_name(config: Path) -> str:
    for line in config.read_text(encoding="utf-8").splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "package_name_override":
            return value.strip().strip("'\"")
    raise SystemExit(f"{config}: package_name_override is missing")


def _specs(spec_dir: Path) -> list[tuple[Path, Path, str]]:
    found = []
    for config in sorted(spec_dir.glob("*.config.yaml")):
        spec = config.with_name(config.name.replace(".config.yaml", ".yaml"))
        if not spec.exists():
            raise SystemExit(f"{config}: no spec {spec.name} next to it")
        found.append((spec, config, _package_name(config)))
    if not found:
        raise SystemExit(f"no *.config.yaml in {spec_dir}")
    return found


def _generator() -> str:
    # The generator's post hooks call `ruff`; use the pinned one from the same environment.
    bindir = Path(sys.executable).parent
    exe = bindir / "openapi-python-client"
    if not exe.exists():
        raise SystemExit(f"openapi-python-client is not installed in {bindir}: run `make setup`")
    return str(exe)


def generate(spec_dir: Path, out_dir: Path) -> list[str]:
    """Generate every package of spec_dir into out_dir; return their names."""
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    names = []
    for spec, config, package in _specs(spec_dir):
        target = out_dir / package
        if target.exists():
            shutil.rmtree(target)
        out_dir.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run(
            [
                _generator(),
                "generate",
                "--path",
                str(spec),
                "--config",
                str(config),
                "--meta",
                "none",
                "--output-path",
                str(target),
                "--fail-on-warning",
            ],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        output = (proc.stdout + proc.stderr).strip()
        noise = [line for line in output.splitlines() if not line.startswith("Generating ")]
        if proc.returncode != 0 or noise:
            sys.stderr.write(f"{spec.name}: the generator failed or warned:\n{output}\n")
            raise SystemExit(1)
        (target / "py.typed").write_text("", encoding="utf-8")
        names.append(package)
    return names


def _diff(expected: Path, actual: Path, rel: Path = Path()) -> list[str]:
    problems: list[str] = []
    cmp = filecmp.dircmp(expected / rel, actual / rel, ignore=list(IGNORED_NAMES))
    problems += [f"missing from generated/: {rel / name}" for name in cmp.left_only]
    problems += [f"not produced by the specs: {rel / name}" for name in cmp.right_only]
    for name in cmp.diff_files:
        left = (expected / rel / name).read_text(encoding="utf-8").splitlines(keepends=True)
        right = (actual / rel / name).read_text(encoding="utf-8").splitlines(keepends=True)
        patch = difflib.unified_diff(
            right, left, f"generated/{rel / name}", f"regenerated/{rel / name}"
        )
        problems.append("".join(patch))
    for name in cmp.common_dirs:
        problems += _diff(expected, actual, rel / name)
    return problems


def check(spec_dir: Path, generated_dir: Path) -> int:
    with tempfile.TemporaryDirectory(prefix="regenerated-") as tmp:
        names = generate(spec_dir, Path(tmp))
        problems: list[str] = []
        for name in names:
            if not (generated_dir / name).is_dir():
                problems.append(f"missing from generated/: {name}")
                continue
            problems += _diff(Path(tmp), generated_dir, Path(name))
        expected = set(names)
        for extra in sorted(p.name for p in generated_dir.iterdir() if p.is_dir()):
            if extra not in expected and extra not in IGNORED_NAMES:
                problems.append(f"not produced by the specs: {extra}")
    if problems:
        sys.stderr.write("\n".join(problems) + "\n")
        sys.stderr.write(
            "generated/ does not match openapi/: run `make regenerate` and commit the result "
            "(never edit generated/ by hand).\n"
        )
        return 1
    print(f"generated/ matches openapi/ ({', '.join(names)})")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if generated/ is stale")
    parser.add_argument("--spec-dir", type=Path, default=ROOT / "openapi")
    parser.add_argument("--generated-dir", type=Path, default=ROOT / "generated")
    args = parser.parse_args(argv)
    if args.check:
        return check(args.spec_dir, args.generated_dir)
    names = generate(args.spec_dir, args.generated_dir)
    print(f"regenerated {', '.join(names)} in {args.generated_dir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

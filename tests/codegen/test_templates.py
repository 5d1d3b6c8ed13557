"""The template environment: rendering, strictness, and templates shipped inside the wheel."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
import pytest

from symcomp.codegen.templates import render, templates_dir

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = "cpu/elemwise_loop.cpp.j2"


@dataclass(frozen=True)
class ElemwiseSpec:
    name: str
    params: str
    body: list[str] = field(default_factory=list)


SPEC = ElemwiseSpec(
    name="fused_exp_mul",
    params="const double* in0, const double* in1, double* out0",
    body=["const double t0 = std::exp(in0[i]);", "out0[i] = t0 * in1[i];"],
)

EXPECTED = """\
#include <cmath>
#include <cstdint>

extern "C" void fused_exp_mul(const double* in0, const double* in1, double* out0, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) {
    const double t0 = std::exp(in0[i]);
    out0[i] = t0 * in1[i];
  }
}
"""


def test_templates_dir_holds_the_cpu_templates():
    assert (templates_dir() / TEMPLATE).is_file()


def test_render_elemwise_loop():
    assert render(TEMPLATE, spec=SPEC) == EXPECTED


def test_render_is_deterministic():
    assert render(TEMPLATE, spec=SPEC) == render(TEMPLATE, spec=SPEC)


def test_missing_variable_raises():
    with pytest.raises(jinja2.UndefinedError, match="spec"):
        render(TEMPLATE)


def test_missing_attribute_raises():
    @dataclass(frozen=True)
    class NoBody:
        name: str
        params: str

    with pytest.raises(jinja2.UndefinedError, match="body"):
        render(TEMPLATE, spec=NoBody("f", "double* out0"))


def test_unknown_template_raises():
    with pytest.raises(jinja2.TemplateNotFound):
        render("cpu/no_such_template.cpp.j2")


@pytest.mark.cxx
def test_rendered_loop_compiles(tmp_path):
    cxx = shutil.which("g++") or shutil.which("clang++")
    if cxx is None:
        pytest.skip("no C++ compiler (g++ or clang++) on PATH")
    source = tmp_path / "loop.cpp"
    source.write_text(render(TEMPLATE, spec=SPEC))
    result = subprocess.run(
        [cxx, "-std=c++17", "-c", str(source), "-o", str(tmp_path / "loop.o")],
        check=False,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


CHECK_INSTALLED = """
import sysconfig
from dataclasses import dataclass
from symcomp.codegen.templates import render, templates_dir

@dataclass
class Spec:
    name: str
    params: str
    body: list

print(templates_dir())
print(sysconfig.get_paths()["purelib"])
print(render("cpu/elemwise_loop.cpp.j2", spec=Spec("f", "double* out0", ["out0[i] = 1.0;"])))
"""


def _run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, check=False, capture_output=True, text=True, **kwargs)
    assert result.returncode == 0, f"{cmd} failed:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.mark.slow
def test_wheel_ships_templates(tmp_path):
    # --no-build-isolation builds with the hatchling installed here, so no network is needed.
    pytest.importorskip("hatchling", reason="building the wheel offline needs hatchling")
    wheels = tmp_path / "wheels"
    _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "-w", str(wheels), str(REPO_ROOT)],
    )  # fmt: skip
    (wheel,) = wheels.glob("symcomp-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert f"symcomp/templates/{TEMPLATE}" in names
    assert not any(name.startswith("templates/") for name in names)

    # A fresh venv sees the system site-packages; a .pth adds this interpreter's site-packages
    # too (when it is itself a venv), so the dependencies are there without any download.
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)])
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    purelib = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"])
    # --ignore-installed: a symcomp of the same version visible to the venv must not count.
    _run([str(python), "-m", "pip", "install", "--no-deps", "--no-index", "--ignore-installed",
          str(wheel)])  # fmt: skip
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (Path(purelib.stdout.strip()) / "_test_deps.pth").write_text("\n".join(sorted(ours)) + "\n")

    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = _run([str(python), "-c", CHECK_INSTALLED], cwd=tmp_path, env=env)
    where, site_packages, source = result.stdout.split("\n", 2)
    assert Path(where).resolve().is_relative_to(Path(site_packages).resolve())
    assert Path(where).name == "templates"
    assert 'extern "C" void f(double* out0, std::int64_t n)' in source
    assert "out0[i] = 1.0;" in source


def test_bytecode_cache_never_fails_a_render(tmp_path):
    import jinja2

    from symcomp.codegen.templates import _BytecodeCache

    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    for directory in (tmp_path / "gone", blocker / "jinja"):  # removed, or impossible
        env = jinja2.Environment(
            loader=jinja2.DictLoader({"t": "{{ x }}"}),
            bytecode_cache=_BytecodeCache(str(directory)),
        )
        assert env.get_template("t").render(x=1) == "1"
    assert any((tmp_path / "gone").iterdir())  # recreated and used

"""Start-up stays light: `intentcrop --version` imports no numpy/PIL/OpenCV, `import intentcrop` no stage."""

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _run(code: str) -> str:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True,
                          cwd=REPO).stdout


def test_version_imports_nothing_heavy():
    out = _run("import sys, runpy\n"
               "sys.argv = ['intentcrop', '--version']\n"
               "try:\n    runpy.run_module('intentcrop.cli.main', run_name='__main__')\n"
               "except SystemExit:\n    pass\n"
               "print(sorted(m for m in ('numpy', 'PIL', 'cv2', 'torch', 'intentcrop.pipeline') if m in sys.modules))")
    assert out.strip().splitlines()[-1] == "[]"


def test_import_intentcrop_is_lazy_and_the_names_still_work():
    out = _run("import sys, intentcrop\n"
               "print('intentcrop.pipeline' in sys.modules, 'numpy' in sys.modules)\n"
               "print(intentcrop.create_pipeline is intentcrop.pipeline.create_pipeline, callable(intentcrop.crop))\n"
               "from intentcrop.registry import SCORERS\n"
               "print('quality' in SCORERS, 'heuristic' in SCORERS.names())")
    assert out.split() == ["False", "False", "True", "True", "True", "True"]


def test_crop_command_imports_only_its_own_module():
    out = _run("import sys\nfrom intentcrop.cli.main import build_parser, _modules_for\n"
               "build_parser(_modules_for(['crop', 'x.jpg']))\n"
               "print(sorted(m.split('.')[-1] for m in sys.modules if m.startswith('intentcrop.cli.') and m.endswith('_cmd')))\n"
               "print(_modules_for(['--version']), _modules_for(['--help']), _modules_for([]))")
    lines = out.strip().splitlines()
    assert lines[0] == "['crop_cmd']"
    assert lines[1] == "[] None None"

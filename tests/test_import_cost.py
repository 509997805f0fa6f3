"""What importing randstyle costs: the engine's heavy scipy modules and pyloudnorm are
imported where a run uses them, not with the package (engine/audio.py says why)."""
import subprocess
import sys

HEAVY = ("scipy.signal", "scipy.optimize", "scipy.ndimage", "pyloudnorm")


def test_importing_the_engine_and_its_commands_leaves_the_heavy_modules_out():
    code = ("import sys, randstyle, randstyle.engine.cli.main; "
            f"print([m for m in {HEAVY!r} if m in sys.modules])")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "[]", res.stdout

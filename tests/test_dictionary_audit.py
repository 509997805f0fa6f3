"""The dictionary separation's command-line contract, from the test audit of issue 21
(bench/mutant_list.py, docs/results/testing.md): --seed is the method's own option and reproduces a
run, --rest may not name a source that has an example, and the atoms of --rest are learned
from the mix. Each test fails with the breakage it is named after in docs/results/testing.md."""
import json
import os

import numpy as np
import soundfile as sf
from helpers import write

from engine.cli import main
from engine.demo import drum_loop, plucked_melody
from engine.model import dictionary
from kernels import numpy_ref

SR = 8000
# small and quick: a 1.5 s mix, 4 atoms, 20 updates each way
QUICK = ["--sr", str(SR), "--mask-n-fft", "256", "--mask-hop-length", "64", "--components",
         "4", "--dictionary-transpose", "0", "--dictionary-iter", "20", "--fit-iter", "20",
         "--subtype", "float", "--quiet"]


def _files(tmp_path):
    write(tmp_path / "mix.wav", 0.3 * (plucked_melody(1.5, SR) + drum_loop(1.5, SR)), SR,
          subtype="FLOAT")
    write(tmp_path / "m.wav", plucked_melody(1.5, SR, seed=4), SR, subtype="FLOAT")
    write(tmp_path / "d.wav", drum_loop(1.5, SR, seed=4), SR, subtype="FLOAT")
    return ["mix.wav", "--source", "melody=m.wav", "--source", "drums=d.wav"]


def _sources(folder) -> dict:
    return {n: sf.read(f"{folder}/{n}.wav")[0] for n in ("melody", "drums")}


def test_seed_is_accepted_and_reproduces_the_separation(tmp_path, monkeypatch, capsys):
    """--seed draws the dictionaries' random starts: the same seed gives the same sources,
    another seed other sources (the breakage: --seed refused as an option the method does
    not read)."""
    monkeypatch.chdir(tmp_path)
    files = _files(tmp_path)
    for out, seed in (("a", "5"), ("b", "5"), ("c", "6")):
        assert main(["separate", *files, "--method", "dictionary", "--seed", seed, "-o", out,
                     *QUICK]) == 0, capsys.readouterr().err
        assert json.load(open(f"{out}/separation.json"))["config"]["seed"] == int(seed)
    a, b, c = _sources("a"), _sources("b"), _sources("c")
    assert all(np.array_equal(a[n], b[n]) for n in a)
    assert not np.array_equal(a["melody"], c["melody"])


def test_rest_naming_a_source_with_an_example_is_refused_in_one_line(tmp_path, monkeypatch,
                                                                      capsys):
    monkeypatch.chdir(tmp_path)
    files = _files(tmp_path)
    assert main(["separate", *files[:3], "--rest", "melody", "-o", "out", *QUICK]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--rest" in err and "Traceback" not in err
    assert not os.path.exists("out")


def test_rest_atoms_are_learned_from_the_mix():
    """V made of two known dictionaries; the first given, the second left to learn (what
    --rest does): the learned atoms leave their random start, stay unit-sum, and the model
    fits V far better than the fixed atoms with the start's free atoms would."""
    rng = np.random.default_rng(0)
    D1, D2 = rng.random((3, 40)) ** 4, rng.random((3, 40)) ** 4
    V = rng.random((200, 3)) @ D1 + rng.random((200, 3)) @ D2
    D1 = dictionary.normalize_atoms(numpy_ref, D1)
    free = dictionary.normalize_atoms(numpy_ref, 0.5 + rng.random((3, 40)))
    A, D = dictionary.fit_activations(numpy_ref, V, D1, 200, 1.0, free=free)
    assert np.array_equal(D[:3], D1) and np.allclose(D[3:].sum(axis=1), 1)
    assert np.linalg.norm(D[3:] - free) > 0.5 * np.linalg.norm(free)  # measured 0.96

    def misfit(atoms):
        acts, _ = dictionary.fit_activations(numpy_ref, V, atoms, 200, 1.0)
        return np.linalg.norm(acts @ atoms - V) / np.linalg.norm(V)

    # measured 0.019 against 0.33
    assert np.linalg.norm(A @ D - V) / np.linalg.norm(V) < 0.2 * misfit(
        np.concatenate([D1, free]))

"""Dictionary separation (engine/model/dictionary.py, engine/run/separate_dictionary.py):
the NMF steps against scikit-learn's, the fast backends against numpy_ref, and the method end
to end on a generated two-source mix whose stems are known."""
import json
import os

import numpy as np
import pytest
import soundfile as sf
from conftest import emulated
from helpers import _counting, rel_error, write
from sklearn.decomposition import NMF, non_negative_factorization

from randstyle import engine
from randstyle.engine.cli import main
from randstyle.engine.demo import drum_loop, plucked_melody
from randstyle.engine.model import dictionary
from randstyle.engine.model.evaluate import sdr
from randstyle.kernels import numpy_ref

SR = 22050
# small and quick: 16 atoms, 60 updates each way (the bound below holds with a margin)
QUICK = dict(components=16, dictionary_iter=60, fit_iter=60, dictionary_transpose=0, backend="cpu")


def _problem(seed=0, T=70, F=45, k=5):
    rng = np.random.default_rng(seed)
    V = rng.random((T, F)) ** 3  # skewed, with near-zeros: exercises the eps floors
    V[3, :7] = 0.0
    return V, rng.random((T, k)), rng.random((k, F))


@pytest.mark.parametrize("beta", [1.0, 0.0, 0.5, 2.0, 3.0])
def test_learning_matches_sklearn_nmf(beta):
    """fit_transform with init="custom" and tol=0 runs exactly max_iter rounds of its W (our
    activations) then H (our dictionary) update, from the same start; l1 is its alpha_W *
    n_features on W."""
    V, A0, D0 = _problem()
    V = V + 1e-3 if beta <= 0 else V  # scikit-learn refuses zeros with Itakura-Saito
    model = NMF(5, beta_loss=beta, solver="mu", init="custom", max_iter=30, tol=0,
                alpha_W=0.02, alpha_H=0.0, l1_ratio=1.0)
    A_sk = model.fit_transform(V, W=A0.copy(), H=D0.copy())
    A, D = A0, D0
    for _ in range(30):
        A = numpy_ref.nmf_activations_step(V, A, D, beta, 0.02 * V.shape[1])
        D = numpy_ref.nmf_dictionary_step(V, A, D, beta)
    assert rel_error(A, A_sk) < 1e-12 and rel_error(D, model.components_) < 1e-12


@pytest.mark.parametrize("beta", [1.0, 0.5])
def test_fixed_atoms_match_sklearn_update_h_false(beta):
    """fit_activations (its flat start is scikit-learn's for update_H=False) against
    non_negative_factorization with the components fixed."""
    V, _, D = _problem(1)
    A_sk, _, _ = non_negative_factorization(V, H=D, update_H=False, n_components=5,
                                            init="custom", solver="mu", beta_loss=beta,
                                            max_iter=40, tol=0)
    A, D_used = dictionary.fit_activations(numpy_ref, V, D, 40, beta)
    assert rel_error(A, A_sk) < 1e-12 and np.array_equal(D_used, D)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("beta", [1.0, 0.0, 2.0])
def test_fast_backends_match_numpy_ref(fast, dtype, beta):
    V, A, D = (a.astype(dtype) for a in _problem(2, T=300, F=257, k=12))
    tol = 1e-12 if dtype == np.float64 else 3e-6
    ref = {"a": numpy_ref.nmf_activations_step(V, A, D, beta, 0.1),
           "d": numpy_ref.nmf_dictionary_step(V, A, D, beta),
           "p": numpy_ref.nmf_model_power(A, D, 2.0)}
    got = {"a": fast.nmf_activations_step(*map(fast.asarray, (V, A, D)), beta, 0.1),
           "d": fast.nmf_dictionary_step(*map(fast.asarray, (V, A, D)), beta),
           "p": fast.nmf_model_power(fast.asarray(A), fast.asarray(D), 2.0)}
    for key, r in ref.items():
        g = fast.to_numpy(got[key])
        assert g.dtype == r.dtype == dtype and rel_error(g, r) < tol, key
    X = (V + 1j * V[::-1]).astype(np.result_type(dtype, np.complex64))
    total = ref["p"] + V
    want = numpy_ref.wiener_apply(ref["p"], total, X)
    g = fast.to_numpy(fast.wiener_apply(*map(fast.asarray, (ref["p"], total, X))))
    assert g.dtype == want.dtype
    assert rel_error(np.stack([g.real, g.imag]), np.stack([want.real, want.imag])) < tol


def _mix(seconds=4.0):
    drums, pluck = drum_loop(seconds, SR, seed=1), plucked_melody(seconds, SR, seed=0)
    examples = {"drums": drum_loop(3, SR, seed=5, bpm=100), "pluck": plucked_melody(3, SR, seed=7)}
    return drums + pluck, {"drums": drums, "pluck": pluck}, examples


def _gains(stems, parts):
    mix = sum(stems.values())
    return {n: sdr(s, parts[n]) - sdr(s, mix / len(stems)) for n, s in stems.items()}


@pytest.fixture(scope="module")
def separated():
    mix, stems, examples = _mix()
    parts, report = engine.separate(mix, examples, seed=3, **QUICK)
    return mix, stems, examples, parts, report


def test_sources_sum_to_the_mix_and_gain(separated):
    """Gain bound: measured +5.7 dB at these quick settings (+18 dB at the defaults on 10 s);
    the equal split is 0 by definition and the swapped dictionaries (next test) go
    negative."""
    mix, stems, _, parts, report = separated
    assert set(parts) == {"drums", "pluck"} and all(p.dtype == np.float32 for p in parts.values())
    assert np.max(np.abs(sum(p.astype(np.float64) for p in parts.values()) - mix)) < 1e-5
    assert report["mix_residual_rel"] < 1e-6 and report["method"] == "dictionary"
    assert min(_gains(stems, parts).values()) > 4.0


def test_swapped_dictionaries_fail_the_bound(separated):
    mix, stems, examples, _, _ = separated
    swapped = {"drums": examples["pluck"], "pluck": examples["drums"]}
    parts, _ = engine.separate(mix, swapped, seed=3, **QUICK)
    assert max(_gains(stems, parts).values()) < 0


def test_deterministic_for_a_seed(separated):
    mix, _, examples, parts, _ = separated
    again, _ = engine.separate(mix, examples, seed=3, **QUICK)
    other, _ = engine.separate(mix, examples, seed=4, **QUICK)
    assert all(np.array_equal(parts[n], again[n]) for n in parts)
    assert not np.array_equal(parts["drums"], other["drums"])


def test_stride_learns_from_every_nth_frame():
    """--dictionary-stride N: the atoms are those learned from the examples' every Nth frame
    (a stride that is ignored, or applied to the mix too, gives other atoms)."""
    from randstyle.engine.config import SeparateConfig
    from randstyle.engine.model.filters import hann_window
    from randstyle.engine.run.separate_dictionary import example_atoms, magnitude
    example = plucked_melody(1.0, SR, seed=2)
    window = numpy_ref.asarray(hann_window(2048).astype(np.float32))
    cfg = SeparateConfig(components=4, dictionary_iter=5, dictionary_transpose=0,
                         dictionary_stride=3, mask_n_fft=2048, mask_hop_length=512)
    got = example_atoms(numpy_ref, "p", example, cfg, window, np.random.default_rng(1))
    V = magnitude(numpy_ref, example, window, cfg.mask_hop_length)[1]
    want, every = (dictionary.learn_dictionary(numpy_ref, np.ascontiguousarray(v), 4, 5, 1.0,
                                               np.random.default_rng(1)) for v in (V[::3], V))
    assert np.allclose(got, want, rtol=1e-4, atol=1e-9)
    assert not np.allclose(got, every, rtol=1e-2)


def test_atoms_and_activations_stay_nonnegative():
    mix, _, examples = _mix(2.0)
    b = numpy_ref
    rng = np.random.default_rng(0)
    V = np.abs(np.fft.rfft(mix[:2048 * 20].reshape(20, 2048), axis=1)).astype(np.float32)
    D = dictionary.learn_dictionary(b, V, 8, 30, 0.5, rng)
    A, D2 = dictionary.fit_activations(b, V, D, 30, 0.5, 0.1, free=D[:3] + 0.01)
    assert D.min() >= 0 and A.min() >= 0 and D2.min() >= 0 and A.max() > 0
    assert np.allclose(D.sum(axis=1), 1, atol=1e-5)  # unit-sum atoms


def test_rest_source_learned_from_the_mix(separated):
    """One example and --rest: the named source still comes out above the equal split."""
    mix, stems, examples, _, _ = separated
    parts, report = engine.separate(mix, {"drums": examples["drums"]}, rest="pluck", seed=3,
                                    **QUICK)
    assert report["sources"] == ["drums", "pluck"]
    assert min(_gains(stems, parts).values()) > 3.0


def _separate(capsys, *args) -> tuple:
    """``separate`` in this process (a child's start, ~2.5 CPU s, is test_cli's subject, not
    these refusals): its exit status and stderr."""
    try:
        code = main(["separate", *args])
    except SystemExit as exc:  # argparse's refusals
        code = exc.code
    return code, capsys.readouterr().err


@pytest.mark.parametrize("bad", ["short", "silent", "nan", "sparsity", "harmonic"])
def test_bad_examples_are_one_line_and_exit_2(tmp_path, bad, capsys):
    """A bad example, or --sparsity (removed: under KL with unit-sum atoms an L1 weight only
    scaled every activation alike), or --dictionary-harmonic past C7: one line on stderr,
    exit 2, nothing written."""
    mix, _, examples = _mix(2.0)
    # "short": shorter than one frame of the smallest default STFT (256 points)
    ex = {"short": examples["pluck"][:200], "silent": np.zeros(SR, np.float32),
          "sparsity": examples["pluck"], "harmonic": examples["pluck"],
          "nan": np.where(np.arange(SR) == 50, np.nan, examples["pluck"][:SR])}[bad]
    m = write(tmp_path / "mix.wav", mix, SR)
    a = write(tmp_path / "a.wav", examples["drums"], SR)
    b = write(tmp_path / "b.wav", ex.astype(np.float32), SR, subtype="FLOAT")
    code, err = _separate(capsys, m, "--source", f"drums={a}", "--source", f"pluck={b}", "-o",
                          str(tmp_path / "out"), "--sr", str(SR),
                          *(["--sparsity", "0.1"] if bad == "sparsity" else []),
                          *(["--dictionary-harmonic", "61"] if bad == "harmonic" else []))
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "out").exists()


# --- from the test audit of issue 21 (bench/audit/mutant_list.py, docs/results/testing.md):
# each test fails with the breakage it is named after there.
CLI_SR = 8000
# small and quick: a 1.5 s mix, 4 atoms, 20 updates each way
CLI_QUICK = ["--sr", str(CLI_SR), "--mask-n-fft", "256", "--mask-hop-length", "64", "--components",
         "4", "--dictionary-transpose", "0", "--dictionary-iter", "20", "--fit-iter", "20",
         "--subtype", "float", "--quiet"]


def _cli_files(tmp_path):
    mix = 0.3 * (plucked_melody(1.5, CLI_SR) + drum_loop(1.5, CLI_SR))
    write(tmp_path / "mix.wav", mix, CLI_SR, subtype="FLOAT")
    write(tmp_path / "m.wav", plucked_melody(1.5, CLI_SR, seed=4), CLI_SR, subtype="FLOAT")
    write(tmp_path / "d.wav", drum_loop(1.5, CLI_SR, seed=4), CLI_SR, subtype="FLOAT")
    return ["mix.wav", "--source", "melody=m.wav", "--source", "drums=d.wav"]


def _cli_sources(folder) -> dict:
    return {n: sf.read(f"{folder}/{n}.wav")[0] for n in ("melody", "drums")}


def test_seed_is_accepted_and_reproduces_the_separation(tmp_path, monkeypatch, capsys):
    """--seed draws the dictionaries' random starts: the same seed gives the same sources,
    another seed other sources (the breakage: --seed refused as an option the method does
    not read)."""
    monkeypatch.chdir(tmp_path)
    files = _cli_files(tmp_path)
    for out, seed in (("a", "5"), ("b", "5"), ("c", "6")):
        assert main(["separate", *files, "--method", "dictionary", "--seed", seed, "-o", out,
                     *CLI_QUICK]) == 0, capsys.readouterr().err
        assert json.load(open(f"{out}/separation.json"))["config"]["seed"] == int(seed)
    a, b, c = _cli_sources("a"), _cli_sources("b"), _cli_sources("c")
    assert all(np.array_equal(a[n], b[n]) for n in a)
    assert not np.array_equal(a["melody"], c["melody"])


def test_rest_naming_a_source_with_an_example_is_refused_in_one_line(tmp_path, monkeypatch,
                                                                      capsys):
    monkeypatch.chdir(tmp_path)
    files = _cli_files(tmp_path)
    assert main(["separate", *files[:3], "--rest", "melody", "-o", "out", *CLI_QUICK]) == 2
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


@emulated
def test_the_dictionary_separation_crosses_to_the_host_a_fixed_number_of_times(monkeypatch):
    """separate --method dictionary on cuda: the signals go up and the sources come down, the
    same number of times whatever the number of updates (none inside the updates), and the
    sources match numpy_ref's."""
    from helpers import rel_error

    from randstyle import engine
    rng = np.random.default_rng(8)
    mix = rng.standard_normal(2000) * 0.3
    examples = {"a": rng.standard_normal(1500) * 0.2, "b": np.sin(np.arange(1500) * 0.3)}
    opts = dict(sr=8000, components=4, dictionary_transpose=1, mask_n_fft=128,
                mask_hop_length=32, seed=2)
    counts = []
    for n_iter in (2, 7):
        with pytest.MonkeyPatch.context() as mp:
            up, down = _counting(mp)
            engine.separate(mix, examples, backend="cuda", dictionary_iter=n_iter,
                            fit_iter=n_iter, **opts)
            counts.append((len(up), len(down)))
    assert counts[0] == counts[1] and counts[0][1] == 2, counts  # down: the two sources
    got = engine.separate(mix, examples, backend="cuda", **opts)[0]
    want = engine.separate(mix, examples, backend="numpy", **opts)[0]
    assert all(rel_error(got[n], want[n]) < 1e-4 for n in want)

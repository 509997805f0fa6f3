"""numpy_ref against outside references: its two DFT forms, librosa's mel, scipy's STFT."""
import numpy as np
import pytest
import scipy.signal
from helpers import rel_error

from randstyle.engine.model.filters import dft_basis, hann_window, mel_filterbank
from randstyle.kernels import numpy_ref as ref

rng = np.random.default_rng(7)


@pytest.mark.parametrize("n_fft,hop,n", [(16, 5, 70), (64, 16, 1000), (2048, 512, 8192)])
def test_dft_forms_agree(n_fft, hop, n):
    x = rng.standard_normal(n)
    Zm, cm = ref.stft_matrix_forward(x, dft_basis(n_fft), hop)
    Zf, cf = ref.stft_fft_forward(x, hann_window(n_fft), hop)
    assert Zm.shape == Zf.shape == (1 + (n - n_fft) // hop, 2 * (n_fft // 2 + 1))
    assert np.max(np.abs(Zm - Zf)) < 1e-10 * max(1.0, np.max(np.abs(Zm)))
    dZ = rng.standard_normal(Zm.shape)
    dm, df = ref.stft_matrix_backward(dZ, cm), ref.stft_fft_backward(dZ, cf)
    assert np.max(np.abs(dm - df)) < 1e-10 * max(1.0, np.max(np.abs(dm)))


def test_dft_forms_float32_keep_dtype():
    x = rng.standard_normal(4096).astype(np.float32)
    Zm, _ = ref.stft_matrix_forward(x, dft_basis(512).astype(np.float32), 128)
    Zf, _ = ref.stft_fft_forward(x, hann_window(512).astype(np.float32), 128)
    assert Zm.dtype == Zf.dtype == np.float32
    assert rel_error(Zm, Zf) < 1e-5


@pytest.mark.parametrize("norm", ["slaney", None])
@pytest.mark.parametrize("sr,n_fft,n_mels,fmin,fmax", [
    (22050, 2048, 8, 0.0, None), (22050, 2048, 128, 0.0, None), (22050, 2048, 3, 0.0, None),
    (44100, 1024, 40, 50.0, 16000.0), (16000, 512, 16, 300.0, 4000.0),
    (22050, 2048, 512, 0.0, None)])
def test_mel_equals_librosa(librosa, norm, sr, n_fft, n_mels, fmin, fmax):
    ours = mel_filterbank(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax, norm=norm)
    theirs = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax,
                                 norm=norm, dtype=np.float64)
    assert ours.shape == theirs.shape == (n_mels, 1 + n_fft // 2)
    assert np.max(np.abs(ours - theirs)) < 1e-6 * max(1.0, np.max(np.abs(theirs)))


@pytest.mark.parametrize("n_fft,hop", [(2048, 512), (256, 64), (100, 30)])
def test_magnitude_equals_scipy_stft(n_fft, hop):
    x = rng.standard_normal(6000)
    Z, _ = ref.stft_fft_forward(x, hann_window(n_fft), hop)
    M, _ = ref.magnitude_forward(Z)
    win = scipy.signal.get_window("hann", n_fft)
    _, _, spec = scipy.signal.stft(x, window=win, nperseg=n_fft, noverlap=n_fft - hop,
                                   boundary=None, padded=False)
    theirs = np.abs(spec).T * win.sum()  # scipy scales the spectrum by 1 / sum(window)
    assert theirs.shape == M.shape
    assert rel_error(M, theirs) < 1e-10


def test_magnitude_equals_librosa_stft_uncentered(librosa):
    x = rng.standard_normal(10000)
    M, _ = ref.magnitude_forward(ref.stft_matrix_forward(x, dft_basis(2048), 512)[0])
    theirs = np.abs(librosa.stft(x, n_fft=2048, hop_length=512, center=False)).T
    assert theirs.shape == M.shape
    assert rel_error(M, theirs) < 1e-10

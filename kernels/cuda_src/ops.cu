// randstyle's fused kernels for the CuPy backend (kernels/cuda.py).
//
// Every kernel is grid-stride and uses no shared memory or synchronization, so the same
// source also runs on the CPU: tests compile it with g++ against host_shim.h, which loops
// over the grid, and compare each kernel with its NumPy twin. Build check (no GPU needed):
//     nvcc --ptx -arch=sm_90 kernels/cuda_src/ops.cu
// One extern "C" wrapper per dtype (_f32, _f64) so the names are stable and visible in PTX.
// 64-bit counts and indices are long long (int64_t): long is 32 bits on Windows. The host
// passes each argument with its exact C type (np.int32 for int, np.int64 for long long),
// checked against these signatures at every launch (kernels/cuda.py check_args).
// Complex arrays are passed as interleaved (re, im) pairs: complex64 is float2 in memory.

#define GRID_STRIDE(i, n) \
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (long long)(n); \
         i += (long long)blockDim.x * gridDim.x)

__device__ __forceinline__ long long thread_id() {
    return (long long)blockIdx.x * blockDim.x + threadIdx.x;
}

// out[t, j] = x[t * hop + j] * window[j]                                 out: (T, n_fft)
template <typename T>
__device__ void frame_window(const T* x, const T* window, int hop, int n_frames, int n_fft,
                             T* out) {
    GRID_STRIDE(i, (long long)n_frames * n_fft) {
        long long t = i / n_fft, j = i % n_fft;
        out[i] = x[t * hop + j] * window[j];
    }
}

// Adjoint of framing, gather form (no write races): dx[s] = sum over the frames t that
// cover s of dframes[t, s - t*hop] (times window[s - t*hop] when use_window).
template <typename T>
__device__ void overlap_add(const T* dframes, const T* window, int use_window, int hop,
                            int n_frames, int n_fft, long long n_samples, T* dx) {
    GRID_STRIDE(s, n_samples) {
        long long t_hi = s / hop;
        if (t_hi > n_frames - 1) t_hi = n_frames - 1;
        long long t_lo = s - n_fft + hop >= 0 ? (s - n_fft + hop) / hop : 0;
        T acc = 0;
        for (long long t = t_lo; t <= t_hi; ++t) {
            long long j = s - t * hop;
            if (j < n_fft) acc += dframes[t * n_fft + j] * (use_window ? window[j] : (T)1);
        }
        dx[s] = acc;
    }
}

// Z[t, k] = Re spec[t, k], Z[t, n_bins + k] = Im spec[t, k]                Z: (T, 2 n_bins)
template <typename T>
__device__ void split_complex(const T* spec, int n_frames, int n_bins, T* Z) {
    GRID_STRIDE(i, (long long)n_frames * n_bins) {
        long long t = i / n_bins, k = i % n_bins;
        Z[t * 2 * n_bins + k] = spec[2 * i];
        Z[t * 2 * n_bins + n_bins + k] = spec[2 * i + 1];
    }
}

// spec = n_fft * (dRe + i dIm) with interior bins halved: the FFT form's backward, before
// the inverse real FFT (which counts interior bins twice).
template <typename T>
__device__ void join_complex(const T* dZ, int n_frames, int n_bins, int n_fft, T* spec) {
    GRID_STRIDE(i, (long long)n_frames * n_bins) {
        long long t = i / n_bins, k = i % n_bins;
        T s = (k == 0 || k == n_bins - 1) ? (T)n_fft : (T)0.5 * n_fft;
        spec[2 * i] = dZ[t * 2 * n_bins + k] * s;
        spec[2 * i + 1] = dZ[t * 2 * n_bins + n_bins + k] * s;
    }
}

template <typename T>
__device__ void magnitude(const T* Z, int n_frames, int n_bins, T* M) {
    GRID_STRIDE(i, (long long)n_frames * n_bins) {
        long long t = i / n_bins, k = i % n_bins;
        T re = Z[t * 2 * n_bins + k], im = Z[t * 2 * n_bins + n_bins + k];
        M[i] = sqrt(re * re + im * im);
    }
}

// d|z|/dz = z / |z|, defined as 0 where |z| = 0.
template <typename T>
__device__ void magnitude_backward(const T* dM, const T* Z, const T* M, int n_frames,
                                   int n_bins, T* dZ) {
    GRID_STRIDE(i, (long long)n_frames * n_bins) {
        long long t = i / n_bins, k = i % n_bins;
        T s = M[i] > 0 ? dM[i] / M[i] : (T)0;
        dZ[t * 2 * n_bins + k] = s * Z[t * 2 * n_bins + k];
        dZ[t * 2 * n_bins + n_bins + k] = s * Z[t * 2 * n_bins + n_bins + k];
    }
}

template <typename T>
__device__ void log1p_forward(const T* M, long long n, T* S) {
    GRID_STRIDE(i, n) { S[i] = log1p(M[i]); }
}

template <typename T>
__device__ void log1p_backward(const T* dS, const T* M, long long n, T* dM) {
    GRID_STRIDE(i, n) { dM[i] = dS[i] / (1 + M[i]); }
}

template <typename T>
__device__ void relu(const T* X, long long n, T* A) {
    GRID_STRIDE(i, n) { A[i] = X[i] > 0 ? X[i] : (T)0; }
}

template <typename T>
__device__ void relu_mask(const T* dA, const T* A, long long n, T* out) {
    GRID_STRIDE(i, n) { out[i] = A[i] > 0 ? dA[i] : (T)0; }
}

// diff = A - B; partial[thread] = this thread's sum of diff^2. partial has grid * block
// entries, every one written; kernels/cuda.py sums them on the device (one reduction, a
// fixed launch shape, so the loss is deterministic) and the host sees only the total.
template <typename T>
__device__ void squared_diff(const T* A, const T* B, long long n, T* diff, double* partial) {
    double acc = 0;
    GRID_STRIDE(i, n) {
        T d = A[i] - B[i];
        diff[i] = d;
        acc += (double)d * d;
    }
    partial[thread_id()] = acc;
}

// out = coef * (G - G_target) and per-thread partial sums of (G - G_target)^2: the Gram
// style loss and the symmetric matrix its gradient needs, in one pass.
template <typename T>
__device__ void gram_diff(const T* G, const T* G_target, T coef, long long n, T* out,
                          double* partial) {
    double acc = 0;
    GRID_STRIDE(i, n) {
        T d = G[i] - G_target[i];
        out[i] = coef * d;
        acc += (double)d * d;
    }
    partial[thread_id()] = acc;
}

// out[t, k*C + c] = X[t + k*dilation, c]                                out: (T', K*C)
template <typename T>
__device__ void im2col(const T* X, int C, int K, int dilation, int n_out, T* out) {
    GRID_STRIDE(i, (long long)n_out * K * C) {
        long long t = i / ((long long)K * C), r = i % ((long long)K * C);
        long long k = r / C, c = r % C;
        out[i] = X[(t + k * dilation) * C + c];
    }
}

// Adjoint of im2col, gather form: dX[s, c] = sum over taps k with 0 <= s - k*dilation < T'.
template <typename T>
__device__ void col2im(const T* dcols, int C, int K, int dilation, int n_out, int n_rows,
                       T* dX) {
    GRID_STRIDE(i, (long long)n_rows * C) {
        long long s = i / C, c = i % C;
        T acc = 0;
        for (int k = 0; k < K; ++k) {
            long long t = s - (long long)k * dilation;
            if (t >= 0 && t < n_out) acc += dcols[(t * K + k) * C + c];
        }
        dX[i] = acc;
    }
}

#define WRAP(T, S)                                                                        \
extern "C" __global__ void frame_window_##S(const T* x, const T* window, int hop,         \
                                            int n_frames, int n_fft, T* out) {            \
    frame_window(x, window, hop, n_frames, n_fft, out); }                                 \
extern "C" __global__ void overlap_add_##S(const T* dframes, const T* window,             \
        int use_window, int hop, int n_frames, int n_fft, long long n_samples, T* dx) {        \
    overlap_add(dframes, window, use_window, hop, n_frames, n_fft, n_samples, dx); }      \
extern "C" __global__ void split_complex_##S(const T* spec, int n_frames, int n_bins,     \
                                             T* Z) {                                      \
    split_complex(spec, n_frames, n_bins, Z); }                                           \
extern "C" __global__ void join_complex_##S(const T* dZ, int n_frames, int n_bins,        \
                                            int n_fft, T* spec) {                         \
    join_complex(dZ, n_frames, n_bins, n_fft, spec); }                                    \
extern "C" __global__ void magnitude_##S(const T* Z, int n_frames, int n_bins, T* M) {    \
    magnitude(Z, n_frames, n_bins, M); }                                                  \
extern "C" __global__ void magnitude_backward_##S(const T* dM, const T* Z, const T* M,    \
                                                  int n_frames, int n_bins, T* dZ) {      \
    magnitude_backward(dM, Z, M, n_frames, n_bins, dZ); }                                 \
extern "C" __global__ void log1p_forward_##S(const T* M, long long n, T* S) {                  \
    log1p_forward(M, n, S); }                                                             \
extern "C" __global__ void log1p_backward_##S(const T* dS, const T* M, long long n, T* dM) {   \
    log1p_backward(dS, M, n, dM); }                                                       \
extern "C" __global__ void relu_##S(const T* X, long long n, T* A) { relu(X, n, A); }          \
extern "C" __global__ void relu_mask_##S(const T* dA, const T* A, long long n, T* out) {       \
    relu_mask(dA, A, n, out); }                                                           \
extern "C" __global__ void squared_diff_##S(const T* A, const T* B, long long n, T* diff,      \
                                            double* partial) {                            \
    squared_diff(A, B, n, diff, partial); }                                               \
extern "C" __global__ void gram_diff_##S(const T* G, const T* G_target, T coef, long long n,   \
                                         T* out, double* partial) {                       \
    gram_diff(G, G_target, coef, n, out, partial); }                                      \
extern "C" __global__ void im2col_##S(const T* X, int C, int K, int dilation, int n_out,  \
                                      T* out) {                                           \
    im2col(X, C, K, dilation, n_out, out); }                                              \
extern "C" __global__ void col2im_##S(const T* dcols, int C, int K, int dilation,         \
                                      int n_out, int n_rows, T* dX) {                     \
    col2im(dcols, C, K, dilation, n_out, n_rows, dX); }

WRAP(float, f32)
WRAP(double, f64)

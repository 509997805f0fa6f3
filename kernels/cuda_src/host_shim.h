// Lets kernels/cuda_src/*.cu compile with a C++ compiler and run on the CPU, for tests on
// machines without a GPU: CUDA's qualifiers become nothing, the thread and block indices are
// globals, and launch() runs the grid as two nested loops. Valid for grid-stride kernels
// without shared memory or __syncthreads(), which is all that ops.cu holds.
#pragma once
#include <cmath>

using std::log1p;
using std::sqrt;

struct shim_dim3 { unsigned x, y, z; };
static shim_dim3 threadIdx = {0, 0, 0}, blockIdx = {0, 0, 0};
static shim_dim3 blockDim = {1, 1, 1}, gridDim = {1, 1, 1};

#define __global__
#define __device__
#define __forceinline__ inline

template <typename... P, typename... A>
static void launch(void (*kernel)(P...), unsigned grid, unsigned block, A... args) {
    gridDim.x = grid;
    blockDim.x = block;
    for (unsigned b = 0; b < grid; ++b) {
        for (unsigned t = 0; t < block; ++t) {
            blockIdx.x = b;
            threadIdx.x = t;
            kernel(args...);
        }
    }
}

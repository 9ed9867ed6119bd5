// mma.h (cudasim) -- CUDA's <mma.h> spelling: nvcuda::wmma for the simulator (wmma.h).
#pragma once
#include "wmma.h"

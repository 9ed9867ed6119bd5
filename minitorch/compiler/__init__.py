"""``minitorch.compiler``: fusion and generated kernels (see docs/design.md, "The compiler
half").

The home of the fusion pass over ``minitorch.jit``'s IR, code generation per language
(C++ for cpu, CUDA C for cuda and cudasim) from one table of op spellings, and the kernel
cache.  It depends on ``minitorch.jit``; ``jit`` never imports it.
"""

"""Kernel runtimes: compile kernels/*.cu and launch them.  base.py is the interface,
cupy.py the GPU (NVRTC through CuPy), cudasim.py the CPU simulator, probe.py finds out which
devices can be made."""

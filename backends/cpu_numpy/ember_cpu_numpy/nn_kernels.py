"""Optional fast kernels for nn layers on NumPy (filled in by the nn work)."""

NN_KERNELS: dict = {}

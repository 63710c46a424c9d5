"""``ember.distributed``: PyTorch's ``torch.distributed`` for data-parallel training, on MPI.

Processes are started by ``python -m ember.distributed.run --nproc-per-node N script.py`` (torchrun's
flags and environment, on ``mpiexec``) or by ``mpiexec``/``srun`` directly; each calls
``init_process_group`` and then uses the collectives. Backends: "mpi"; "gloo", PyTorch's CPU
default, accepted and run on the same MPI engine; "nccl" for CUDA tensors through CuPy. Needs
``pip install 'ember[distributed]'`` (mpi4py and the mpich wheel). See docs/distributed.md.

Example (a single process is a world of one; the same code runs in N processes under the launcher)::

    >>> import ember
    >>> import ember.distributed as dist
    >>> dist.init_process_group("gloo")
    >>> t = ember.tensor([1.0, 2.0]); dist.all_reduce(t, op=dist.ReduceOp.MAX); t
    tensor([1., 2.])
    >>> dist.get_rank(), dist.get_world_size()
    (0, 1)
    >>> dist.destroy_process_group()
"""

from . import _exchange
from ._exchange import *  # noqa: F403
from .distributed_c10d import *  # noqa: F403
from .distributed_c10d import __all__ as _c10d_all

__all__ = [*_c10d_all, *_exchange.__all__]


# a submodule not imported yet, by name (``ember.nn.attention`` after ``import ember``, as in PyTorch)
from ember import _lazy_submodules  # noqa: E402

__getattr__ = _lazy_submodules.package_getattr(__name__, __path__[0])  # noqa: F405 - the package's own __path__

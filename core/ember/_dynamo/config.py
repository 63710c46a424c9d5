"""PyTorch's ``torch._dynamo.config`` flags, kept for compatibility: programs may read and set them,
and they change nothing in ember's compiler (its capture limit is ``torch.compile``'s
``options={"cache_size_limit": n}``)."""

cache_size_limit = 8
accumulated_cache_size_limit = 256
inline_inbuilt_nn_modules = True
suppress_errors = False
verbose = False
capture_scalar_outputs = False
capture_dynamic_output_shape_ops = False
automatic_dynamic_shapes = True
assume_static_by_default = True
optimize_ddp = True

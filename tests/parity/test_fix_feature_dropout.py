"""dropout1d/2d/3d and feature_alpha_dropout follow PyTorch for every input rank: which axes a
dropped "channel" spans, the warnings for deprecated ranks, the errors, eval mode and in-place.

Found by running PyTorch's mnist_rnn example, which applies ``nn.Dropout2d`` to (N, C) features:
PyTorch drops single elements there (aten's feature dropout draws per (dim 0, dim 1) entry);
ember dropped whole samples. The random streams differ, so the masks are compared by structure
(along which axes each output is constant), not element by element.
"""

from __future__ import annotations

import itertools
import warnings

import ember
import ember.nn.functional as EF
import numpy as np
import pytest

torch = pytest.importorskip("torch")
TF = torch.nn.functional

FNS = ["dropout1d", "dropout2d", "dropout3d", "feature_alpha_dropout"]
# leading axes long enough that independent draws all coinciding (2^-19 or less) cannot pass for a shared one
SHAPES = [(), (30,), (20, 30), (20, 24, 3), (20, 24, 3, 2), (20, 24, 3, 2, 2), (0, 3)]


def _constant_axes(y: np.ndarray) -> tuple[int, ...]:
    """Axes along which every line of ``y`` holds one value (the axes a mask entry spans)."""
    return tuple(ax for ax in range(y.ndim) if y.shape[ax] > 1 and np.all(y == np.take(y, [0], axis=ax)))


def _run(fw, fn, shape, p=0.5, training=True, device="cpu"):
    """(result or exception, warnings) of ``fn`` on ones of ``shape``."""
    x = fw.ones(shape, device=device) if fw is ember else torch.ones(shape)
    f = getattr(EF if fw is ember else TF, fn)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            out = f(x, p, training)
            out = out.cpu().numpy() if fw is ember else out.numpy()
        except Exception as exc:  # compared with the other framework's below
            out = exc
    return out, [(w.category, str(w.message)) for w in caught]


@pytest.mark.parametrize("fn,shape", list(itertools.product(FNS, SHAPES)))
def test_mask_structure_warnings_and_errors_match_torch(fn, shape, device):
    ember.manual_seed(1)
    torch.manual_seed(1)
    ours, our_warnings = _run(ember, fn, shape, device=device)
    theirs, their_warnings = _run(torch, fn, shape)
    assert our_warnings == their_warnings
    if isinstance(theirs, Exception):
        assert type(ours) is type(theirs) and str(ours) == str(theirs)
        return
    assert not isinstance(ours, Exception), ours
    assert ours.shape == theirs.shape
    assert _constant_axes(ours) == _constant_axes(theirs)
    # kept entries are scaled by 1/(1-p) (alpha dropout: an affine map of the two values)
    assert len(np.unique(ours)) == len(np.unique(theirs)) or ours.size == 0
    np.testing.assert_allclose(np.unique(ours), np.unique(theirs), rtol=1e-6)


@pytest.mark.parametrize("fn", FNS)
@pytest.mark.parametrize("p,training", [(0.5, False), (0.0, True), (1.0, True)])
def test_eval_mode_and_edge_probabilities_match_torch(fn, p, training, device):
    for shape in [(7,), (2, 3), (2, 3, 4), (2, 3, 4, 2), (2, 3, 4, 2, 2)]:
        ours, our_warnings = _run(ember, fn, shape, p, training, device)
        theirs, their_warnings = _run(torch, fn, shape, p, training)
        assert our_warnings == their_warnings
        if isinstance(theirs, Exception):
            assert type(ours) is type(theirs) and str(ours) == str(theirs), shape
        else:
            np.testing.assert_allclose(ours, theirs, rtol=1e-6, err_msg=str(shape))


@pytest.mark.parametrize("fn", ["dropout1d", "dropout2d", "dropout3d"])
def test_inplace_writes_the_input(fn, device):
    shape = {"dropout1d": (4, 5), "dropout2d": (3, 4, 5, 5), "dropout3d": (4, 3, 3, 3)}[fn]
    x = ember.ones(shape, device=device)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        y = getattr(EF, fn)(x, 0.5, True, inplace=True)
    assert y is x
    vals = np.unique(x.cpu().numpy())
    assert set(vals.tolist()) <= {0.0, 2.0} and len(vals) == 2


def test_the_mnist_rnn_pattern_keeps_every_sample(device):
    """nn.Dropout2d on (N, C) features, as in PyTorch's mnist_rnn example: elements are dropped,
    never a whole sample (with 64 features at p=0.5 a sample survives with probability 1 - 2^-64)."""
    ember.manual_seed(0)
    drop = ember.nn.Dropout2d(0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        y = drop(ember.ones(256, 64, device=device)).cpu().numpy()
    assert (y != 0).any(axis=1).all()
    assert 0.4 < (y != 0).mean() < 0.6


_ATEN = ["dropout", "dropout_", "alpha_dropout", "alpha_dropout_", "feature_dropout", "feature_dropout_",
         "feature_alpha_dropout", "feature_alpha_dropout_"]


@pytest.mark.parametrize("name", _ATEN)
@pytest.mark.parametrize("train", [True, False])
def test_the_aten_forms_refuse_a_bad_p_with_runtime_error_as_torch(name, train, device):
    with pytest.raises(RuntimeError) as theirs:
        getattr(torch, name)(torch.ones(2, 3), 1.5, train)
    with pytest.raises(RuntimeError) as ours:
        getattr(ember, name)(ember.ones(2, 3, device=device), 1.5, train)
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("name", ["feature_dropout", "feature_alpha_dropout"])
@pytest.mark.parametrize("shape", [(20, 30), (20, 24, 3), (3,)])
def test_the_aten_feature_forms_share_a_draw_as_torch(name, shape, device):
    ember.manual_seed(2)
    torch.manual_seed(2)
    try:
        theirs = getattr(torch, name)(torch.ones(shape), 0.5, True).numpy()
    except RuntimeError as exc:
        with pytest.raises(RuntimeError, match=str(exc)):
            getattr(ember, name)(ember.ones(shape, device=device), 0.5, True)
        return
    ours = getattr(ember, name)(ember.ones(shape, device=device), 0.5, True).cpu().numpy()
    assert _constant_axes(ours) == _constant_axes(theirs)

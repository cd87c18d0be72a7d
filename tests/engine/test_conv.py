"""Conv2d and Pool2d: forward against loop references, gradients against central differences
(float64), errors at add(), save/load, and the model API on a CNN."""
from __future__ import annotations

import json

import numpy as np
import pytest

import nncore
from nncore import FFL, NN, Conv2d, Dropout, Flatten, Pool2d, ShapeError
from nncore.layers import conv as conv_module
from nncore.optimizers import OPTIMIZERS


# ---------------------------------------------------------------------- references
def same_pads(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow's "same": output ceil(size/stride), the odd padding pixel after."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def explicit_pads(padding, hw, kernel, stride):
    if padding in ("valid", None):
        return (0, 0), (0, 0)
    if padding == "zero":
        return (1, 1), (1, 1)
    if padding == "same":
        return same_pads(hw[0], kernel[0], stride[0]), same_pads(hw[1], kernel[1], stride[1])
    if isinstance(padding, int):
        return (padding, padding), (padding, padding)
    return (padding[0], padding[0]), (padding[1], padding[1])


def pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def conv_reference(x, w, b, stride, pads):
    """Direct loops over output pixels: out[n, f, o, p] = Σ_c,i,j x_pad[n, c, o·sh+i, p·sw+j] w[f, c, i, j] + b[f]."""
    sh, sw = stride
    kh, kw = w.shape[2:]
    xp = np.pad(x, ((0, 0), (0, 0), pads[0], pads[1]))
    ho, wo = (xp.shape[2] - kh) // sh + 1, (xp.shape[3] - kw) // sw + 1
    out = np.zeros((len(x), len(w), ho, wo))
    for o in range(ho):
        for p in range(wo):
            patch = xp[:, :, o * sh : o * sh + kh, p * sw : p * sw + kw]
            for n in range(len(x)):
                for f in range(len(w)):
                    out[n, f, o, p] = np.sum(patch[n] * w[f]) + b[f]
    return out


def pool_reference(x, kind, kernel, stride, pads):
    """Loops over windows; max ignores padding, avg divides by the input pixels in the window."""
    n, c, h, w = x.shape
    (pt, pb), (pl, pr) = pads
    ho, wo = (h + pt + pb - kernel[0]) // stride[0] + 1, (w + pl + pr - kernel[1]) // stride[1] + 1
    out = np.zeros((n, c, ho, wo))
    for o in range(ho):
        for p in range(wo):
            r0, c0 = o * stride[0] - pt, p * stride[1] - pl
            rows = slice(max(r0, 0), min(r0 + kernel[0], h))
            cols = slice(max(c0, 0), min(c0 + kernel[1], w))
            window = x[:, :, rows, cols]
            out[:, :, o, p] = window.max(axis=(2, 3)) if kind == "max" else window.mean(axis=(2, 3))
    return out


def distinct(rng, shape, scale=2.0):
    """Values all different (gaps ≫ the finite-difference step), so max pooling has no ties."""
    size = int(np.prod(shape))
    return (rng.permutation(size).reshape(shape) / size - 0.5) * 2 * scale + rng.uniform(-1e-3, 1e-3, shape)


# ---------------------------------------------------------------------- gradient helpers
def loss_and_grads(m, x, y):
    """(loss, flat parameter gradient, dL/dx) for one training batch."""
    for layer in m.layers:
        if isinstance(layer, Dropout):
            layer.rng = np.random.default_rng(0)
    z, a = m._forward(x, training=True)
    out = m.output_layer
    loss, grad_z = m.loss.value_and_grad(z, a, y, out.activation)
    loss += m._l2_penalty()
    grad = out.backward_z(grad_z, need_input_grad=True)
    for layer in reversed(m.layers[:-1]):
        grad = layer.backward(grad, need_input_grad=True)
    for layer in m.layers:
        layer.add_l2_gradient()
    return loss, m._grads.copy(), np.array(grad)


def loss_only(m, x, y):
    for layer in m.layers:  # the same dropout masks on every evaluation
        if isinstance(layer, Dropout):
            layer.rng = np.random.default_rng(0)
    z, a = m._forward(x, training=True)
    return m.loss.value_and_grad(z, a, y, m.output_layer.activation)[0] + m._l2_penalty()


def numeric_param_grad(m, x, y, h=1e-6):
    g = np.zeros_like(m._params)
    for i in range(m._params.size):
        old = m._params[i]
        m._params[i] = old + h
        lp = loss_only(m, x, y)
        m._params[i] = old - h
        lm = loss_only(m, x, y)
        m._params[i] = old
        g[i] = (lp - lm) / (2 * h)
    return g


def numeric_input_grad(m, x, y, h=1e-6):
    g = np.zeros_like(x)
    flat, gflat = x.reshape(-1), g.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + h
        lp = loss_only(m, x, y)
        flat[i] = old - h
        lm = loss_only(m, x, y)
        flat[i] = old
        gflat[i] = (lp - lm) / (2 * h)
    return g


def rel_error(a, b):
    return np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), 1e-12)


def onehot(rng, n, k=3):
    return np.eye(k)[rng.integers(0, k, n)]


def check_gradients(m, x, y, tol=1e-6):
    _, analytic, input_grad = loss_and_grads(m, x, y)
    numeric = numeric_param_grad(m, x, y)
    assert np.linalg.norm(analytic) > 0
    assert rel_error(analytic, numeric) < tol
    numeric_x = numeric_input_grad(m, x, y)
    assert input_grad.shape == x.shape
    assert np.linalg.norm(numeric_x) > 0
    assert rel_error(input_grad, numeric_x) < tol


# ---------------------------------------------------------------------- Conv2d
CONV_CASES = [
    # kernel, stride, padding, input (C, H, W)
    ((3, 3), (1, 1), "valid", (2, 6, 7)),
    ((3, 3), (1, 1), "same", (2, 6, 7)),
    ((2, 2), (1, 1), "same", (2, 5, 6)),  # even kernel: the extra pixel goes bottom/right
    ((4, 4), (2, 2), "same", (1, 7, 8)),  # even kernel, "same" with stride 2
    ((3, 3), (2, 2), "same", (2, 7, 6)),
    ((3, 2), (2, 1), 1, (2, 6, 5)),  # int padding, non-square kernel
    ((2, 3), (1, 2), (2, 1), (1, 5, 6)),  # pair padding
    ((3, 3), (3, 3), "zero", (2, 7, 7)),
    ((1, 1), (1, 1), "valid", (3, 4, 4)),
    ((5, 5), (1, 1), "valid", (1, 5, 5)),  # kernel = input: one output pixel
    ((2, 2), (3, 3), "valid", (1, 7, 8)),  # stride > kernel: pixels skipped
    ((3, 3), (1, 1), 3, (1, 3, 3)),  # padding wider than the input: whole kernel rows in the padding
]


@pytest.mark.parametrize("kernel,stride,padding,shape", CONV_CASES)
def test_conv_forward_matches_loop_reference(kernel, stride, padding, shape, monkeypatch):
    rng = np.random.default_rng(0)
    w = rng.normal(size=(4, shape[0], *kernel))
    b = rng.normal(size=4)
    m = NN(dtype="float64")
    layer = Conv2d(input_shape=shape, filters=4, kernel_size=kernel, stride=stride, padding=padding, weights=w, bias=b)
    m.add(layer)
    x = rng.normal(size=(5, *shape))
    expected = conv_reference(x, w, b, stride, explicit_pads(padding, shape[1:], kernel, stride))
    assert layer.output_shape == expected.shape[1:]
    np.testing.assert_allclose(layer.forward(x, training=True), expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.forward(x[:3], training=True), expected[:3], rtol=1e-12, atol=1e-12)  # reused buffer, other n
    np.testing.assert_allclose(layer.apply(x), expected, rtol=1e-12, atol=1e-12)
    monkeypatch.setattr(conv_module, "COLS_BUDGET", 1)  # inference in chunks of one sample
    np.testing.assert_allclose(layer.apply(x), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kernel,stride,padding,shape", CONV_CASES)
def test_conv_gradients(kernel, stride, padding, shape):
    rng = np.random.default_rng(1)
    m = NN(seed=1, dtype="float64")
    m.add(Conv2d(input_shape=shape, filters=3, kernel_size=kernel, stride=stride, padding=padding, activation="tanh"))
    m.add(Flatten())
    m.add(FFL(neurons=3, activation="softmax"))
    m.compile_model(lr=0.1, opt="iterative", loss="cse")
    x = rng.normal(size=(3, *shape))
    check_gradients(m, x, onehot(rng, 3))


def test_conv_gradients_without_bias_and_with_l2():
    rng = np.random.default_rng(2)
    m = NN(seed=2, dtype="float64")
    m.add(Conv2d(input_shape=(2, 5, 5), filters=3, kernel_size=3, padding="same", activation="sigmoid", is_bias=False, l2=0.05))
    m.add(Flatten())
    m.add(FFL(neurons=2, activation="linear"))
    m.compile_model(lr=0.1, opt="iterative", loss="mse")
    conv = m.layers[0]
    assert conv.biases is None and list(conv.params) == ["weights"]
    assert m._l2_penalty() == pytest.approx(0.05 * np.sum(conv.weights**2) + 0.0)
    check_gradients(m, rng.normal(size=(4, 2, 5, 5)), rng.normal(size=(4, 2)))


def test_same_padding_puts_the_extra_pixel_bottom_right():
    m = NN(dtype="float64")
    layer = Conv2d(input_shape=(1, 3, 3), filters=1, kernel_size=2, padding="same", weights=np.ones((1, 1, 2, 2)), bias=[0.0])
    m.add(layer)
    out = layer.apply(np.ones((1, 1, 3, 3)))[0, 0]
    # windows start at the top-left pixel; the last row and column read one padding pixel
    np.testing.assert_array_equal(out, [[4, 4, 2], [4, 4, 2], [2, 2, 1]])
    assert Conv2d(input_shape=(1, 7, 8), kernel_size=3, stride=2, padding="same").compute_output_shape((1, 7, 8)) == (1, 4, 4)


def test_conv_works_on_any_memory_layout():
    rng = np.random.default_rng(3)
    m = NN(seed=3, dtype="float64")
    layer = Conv2d(input_shape=(3, 6, 5), filters=2, kernel_size=3, padding="same")
    m.add(layer)
    x = rng.normal(size=(4, 3, 6, 5))
    batch_inner = np.ascontiguousarray(x.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2)
    channel_major = np.ascontiguousarray(x.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3)
    ref = layer.apply(x)
    for variant in (batch_inner, channel_major, x[:, :, :, ::-1][:, :, :, ::-1]):
        np.testing.assert_array_equal(layer.apply(variant), ref)
    g = rng.normal(size=ref.shape)
    layer.forward(x)
    dx = layer.backward(g.copy())
    layer.forward(x)
    np.testing.assert_allclose(layer.backward(np.ascontiguousarray(g.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3)), dx, rtol=1e-12)


def test_conv_initialisation():
    rng_model = NN(seed=0)
    rng_model.add(Conv2d(input_shape=(8, 12, 12), filters=64, kernel_size=5, activation="relu"))
    w = rng_model.layers[0].weights
    assert w.shape == (64, 8, 5, 5) and w.dtype == np.float32
    assert np.std(w) == pytest.approx(np.sqrt(2.0 / (8 * 25)), rel=0.05)  # He-normal, fan_in = C·kh·kw
    assert np.all(rng_model.layers[0].biases == 0)
    g = NN(seed=0)
    g.add(Conv2d(input_shape=(8, 12, 12), filters=64, kernel_size=5, activation="tanh"))
    limit = np.sqrt(6.0 / (8 * 25 + 64 * 25))  # Glorot-uniform, fan_out = F·kh·kw
    w = g.layers[0].weights
    assert np.abs(w).max() <= limit and np.abs(w).max() > 0.95 * limit
    given = np.arange(2 * 1 * 3 * 3, dtype=float).reshape(2, 1, 3, 3)
    m = NN(seed=0)
    m.add(Conv2d(input_shape=(28, 28), filters=2, weights=given, bias=[1, 2]))
    assert m.input_shape == (1, 28, 28)
    np.testing.assert_array_equal(m.layers[0].weights, given)
    np.testing.assert_array_equal(m.layers[0].biases, [1, 2])
    m.layers[0].weights = given * 2
    np.testing.assert_array_equal(m.layers[0].params["weights"], given * 2)
    # the same seed gives the same network
    a, b = NN(seed=5), NN(seed=5)
    for model in (a, b):
        model.add(Conv2d(input_shape=(1, 8, 8), filters=4, activation="relu"))
    np.testing.assert_array_equal(a.layers[0].weights, b.layers[0].weights)


# ---------------------------------------------------------------------- Pool2d
POOL_CASES = [
    # kind, kernel, stride, padding, input (C, H, W)
    ("max", 2, None, "valid", (2, 6, 6)),
    ("max", 2, None, "valid", (2, 7, 5)),  # odd sizes: the last row/column is dropped
    ("max", 3, 2, "valid", (2, 7, 7)),  # overlapping windows
    ("max", 3, 1, "same", (1, 5, 6)),
    ("max", (2, 3), (1, 2), 1, (2, 6, 7)),
    ("max", 2, 2, "same", (1, 5, 5)),  # "same" with stride 2: padding bottom/right
    ("max", 3, 3, "zero", (1, 7, 8)),
    ("avg", 2, None, "valid", (2, 6, 6)),
    ("avg", 3, 2, "same", (2, 7, 6)),  # padding not counted
    ("avg", 3, 1, 1, (1, 5, 5)),
    ("avg", (2, 3), (2, 1), (1, 1), (2, 6, 6)),
    ("avg", 2, 3, "valid", (1, 8, 8)),  # stride > kernel
]


def pool_pads(padding, shape, kernel, stride):
    kernel, stride = pair(kernel), pair(kernel if stride is None else stride)
    return explicit_pads(padding, shape[1:], kernel, stride), kernel, stride


@pytest.mark.parametrize("kind,kernel,stride,padding,shape", POOL_CASES)
def test_pool_forward_matches_loop_reference(kind, kernel, stride, padding, shape):
    rng = np.random.default_rng(4)
    m = NN(dtype="float64")
    layer = Pool2d(kernel, stride=stride, padding=padding, kind=kind, input_shape=shape)
    m.add(layer)
    x = rng.normal(size=(3, *shape))
    pads, k, s = pool_pads(padding, shape, kernel, stride)
    expected = pool_reference(x, kind, k, s, pads)
    assert layer.output_shape == expected.shape[1:]
    np.testing.assert_allclose(layer.forward(x, training=True), expected, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(layer.forward(x[:2], training=True), expected[:2], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(layer.apply(x), expected, rtol=1e-12, atol=1e-14)
    channel_major = np.ascontiguousarray(x.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3)
    np.testing.assert_allclose(layer.apply(channel_major), expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("kind,kernel,stride,padding,shape", POOL_CASES)
def test_pool_gradients(kind, kernel, stride, padding, shape):
    rng = np.random.default_rng(5)
    m = NN(seed=5, dtype="float64")
    m.add(Pool2d(kernel, stride=stride, padding=padding, kind=kind, input_shape=shape))
    m.add(Flatten())
    m.add(FFL(neurons=3, activation="softmax"))
    m.compile_model(lr=0.1, opt="iterative", loss="cse")
    x = distinct(rng, (3, *shape))
    check_gradients(m, x, onehot(rng, 3))


def test_max_pool_gradient_goes_to_the_first_maximum_on_ties():
    layer = Pool2d(2, input_shape=(1, 2, 4))
    NN(dtype="float64").add(layer)
    x = np.array([[[[0.0, 0.0, 1.0, 3.0], [0.0, 0.0, 3.0, 3.0]]]])
    np.testing.assert_array_equal(layer.forward(x), [[[[0.0, 3.0]]]])
    dx = layer.backward(np.array([[[[5.0, 7.0]]]]))
    np.testing.assert_array_equal(dx, [[[[5.0, 0.0, 0.0, 7.0], [0.0, 0.0, 0.0, 0.0]]]])
    overlapping = Pool2d(2, stride=1, input_shape=(1, 2, 3))  # the general (overlapping windows) path
    NN(dtype="float64").add(overlapping)
    np.testing.assert_array_equal(overlapping.forward(np.zeros((1, 1, 2, 3))), [[[[0.0, 0.0]]]])
    dx = overlapping.backward(np.array([[[[5.0, 7.0]]]]))
    np.testing.assert_array_equal(dx, [[[[5.0, 7.0, 0.0], [0.0, 0.0, 0.0]]]])


def test_pool_defaults_and_refusals():
    p = Pool2d((2, 3))
    assert p.stride == (2, 3) and p.kind == "max" and p.padding == "valid"
    with pytest.raises(ValueError, match="'max', 'avg'"):
        Pool2d(2, kind="min")
    m = NN()
    m.add(Conv2d(input_shape=(1, 8, 8), filters=2))
    for kind in ("max", "avg"):
        with pytest.raises(ShapeError, match=r"less padding than the kernel .* padding=3 gives \(3\+3, 3\+3\)"):
            m.add(Pool2d(3, padding=3, kind=kind))
    m.add(Pool2d(3, padding=2, kind="avg"))
    assert m.output_shape == (2, 3, 3)  # (6 + 2 + 2 - 3) // 3 + 1


# ---------------------------------------------------------------------- whole CNN
def small_cnn(seed=0, dtype="float64", l2=0.0, act="tanh"):
    m = NN(seed=seed, dtype=dtype)
    m.add(Conv2d(input_shape=(1, 8, 8), filters=3, kernel_size=3, padding="same", activation=act, l2=l2))
    m.add(Pool2d(2))
    m.add(Conv2d(filters=2, kernel_size=2, stride=1, padding="valid", activation=act, l2=l2))
    m.add(Pool2d(2, stride=1, kind="avg"))
    m.add(Flatten())
    m.add(FFL(neurons=4, activation="tanh"))
    m.add(FFL(neurons=3, activation="softmax"))
    m.compile_model(lr=0.01, opt="adam", loss="cse", metrics=["accuracy"])
    return m


@pytest.mark.parametrize("act,l2", [("tanh", 0.0), ("relu", 0.01)])
def test_whole_cnn_gradients(act, l2):
    rng = np.random.default_rng(6)
    m = small_cnn(seed=6, l2=l2, act=act)
    x = distinct(rng, (3, 1, 8, 8))
    check_gradients(m, x, onehot(rng, 3))


def test_dropout_between_convolutions_gradients():
    rng = np.random.default_rng(14)
    m = NN(seed=14, dtype="float64")
    m.add(Conv2d(input_shape=(2, 6, 6), filters=3, kernel_size=3, padding="same", activation="tanh"))
    m.add(Dropout(0.4))  # on (n, C, H, W) activations stored batch-innermost
    m.add(Pool2d(2, kind="avg"))
    m.add(Conv2d(filters=2, kernel_size=2, activation="sigmoid"))
    m.add(Flatten())
    m.add(FFL(neurons=3, activation="softmax"))
    m.compile_model(lr=0.1, opt="iterative", loss="cse")
    x = rng.normal(size=(3, 2, 6, 6))
    check_gradients(m, x, onehot(rng, 3))
    assert np.count_nonzero(m.layers[1]._mask == 0) > 0  # some activations were dropped


@pytest.mark.parametrize("logit", [False, True])
def test_cnn_input_gradient_matches_finite_differences(logit):
    rng = np.random.default_rng(7)
    m = small_cnn(seed=7)
    x = distinct(rng, (2, 8, 8))  # (n, H, W): one channel
    h = 1e-6
    for cls in range(3):
        analytic = m.input_gradient(x, cls, logit=logit)
        assert analytic.shape == (2, 1, 8, 8)
        numeric = np.zeros((2, 8, 8))
        for idx in np.ndindex(*x.shape):
            xp, xm = x.copy(), x.copy()
            xp[idx] += h
            xm[idx] -= h
            if logit:
                fp, fm = m._infer(xp, logits=True)[idx[0], cls], m._infer(xm, logits=True)[idx[0], cls]
            else:
                fp, fm = m.predict(xp)[idx[0], cls], m.predict(xm)[idx[0], cls]
            numeric[idx] = (fp - fm) / (2 * h)
        assert rel_error(analytic[:, 0], numeric) < 1e-6


def test_input_gradient_leaves_the_training_caches_alone():
    rng = np.random.default_rng(8)
    m = small_cnn(seed=8)
    x, y = rng.normal(size=(4, 1, 8, 8)), onehot(rng, 4)
    _, expected, _ = loss_and_grads(m, x, y)
    z, a = m._forward(x, training=True)
    m.input_gradient(rng.normal(size=(6, 1, 8, 8)), 1)  # between forward and backward, other batch size
    _, gz = m.loss.value_and_grad(z, a, y, m.output_layer.activation)
    m._backward(gz)
    np.testing.assert_array_equal(m._grads, expected)


MNIST_LIKE = [
    Conv2d(input_shape=(1, 28, 28), filters=16, kernel_size=(3, 3), stride=(1, 1), padding="same", activation="relu"),
    Pool2d(kernel_size=(2, 2)),
    Conv2d(filters=32, kernel_size=3, padding="same", activation="relu"),
    Pool2d(2),
    Flatten(),
    Dropout(0.25),
    FFL(neurons=128, activation="relu"),
    FFL(neurons=10, activation="softmax"),
]


def mnist_cnn(seed=0, opt="adam"):
    m = NN(seed=seed)
    for layer in MNIST_LIKE:
        m.add(nncore.layers.get(type(layer).__name__).from_config(layer.get_config()))
    m.compile_model(lr=1e-3, opt=opt, loss="cse", metrics=["accuracy"])
    return m


def test_summary_and_parameter_count():
    m = mnist_cnn()
    df = m.summary()
    assert list(df["Output shape"]) == ["(16, 28, 28)", "(16, 14, 14)", "(32, 14, 14)", "(32, 7, 7)", "(1568,)", "(1568,)", "(128,)", "(10,)"]
    assert list(df["Type"])[:4] == ["Conv2d", "Pool2d", "Conv2d", "Pool2d"]
    assert list(df["Parameters"]) == [160, 0, 4640, 0, 0, 0, 200832, 1290]
    assert m.total_parameters == 206922
    assert m.layer_names()[:4] == ["Conv 1", "Pool 1", "Conv 2", "Pool 2"]
    assert m.layers[0].describe() == "16 filters 3×3, padding same" and m.layers[1].describe() == "max 2×2"


def test_model_api_on_a_cnn():
    rng = np.random.default_rng(9)
    m = mnist_cnn(seed=9)
    x = rng.random((20, 28, 28)).astype(np.float32)  # (n, H, W) means one channel
    y = rng.integers(0, 10, 20)
    history = m.train(x, y, epochs=2, batch_size=8, val_split=0.2, verbose=0)
    assert len(history.history["loss"]) == 2 and np.isfinite(history.history["val_loss"]).all()
    outs = m.feedforward(x[:3])
    assert [o.shape for o in outs] == [(3, 16, 28, 28), (3, 16, 14, 14), (3, 32, 14, 14), (3, 32, 7, 7), (3, 1568), (3, 1568), (3, 128), (3, 10)]
    p = m.predict(x)
    assert p.shape == (20, 10) and p.dtype == np.float32
    np.testing.assert_allclose(p.sum(axis=1), 1, rtol=1e-5)
    np.testing.assert_array_equal(m.predict(x[:, None]), p)  # (n, 1, H, W) is the same input
    np.testing.assert_allclose(m.predict(x, batch_size=7), p, rtol=1e-5, atol=1e-7)
    result = m.evaluate(x, y)
    assert set(result) == {"loss", "accuracy"} and np.isfinite(result["loss"])
    trace = m.trace_step(x[:4], y[:4])
    conv = trace["layers"][0]
    assert conv["weights"].shape == (16, 1, 3, 3) and conv["grad_weights"].shape == (16, 1, 3, 3)
    assert conv["z"].shape == (4, 16, 28, 28) and conv["output"].shape == (4, 16, 28, 28)
    assert np.any(conv["update_weights"] != 0)
    with pytest.raises(ShapeError, match=r"expects \(1, 28, 28\)\. Reshape it with x\.reshape\(len\(x\), 1, 28, 28\)"):
        m.predict(np.zeros((2, 784)))
    with pytest.raises(ShapeError, match=r"samples of shape \(3, 28, 28\), but the model expects \(1, 28, 28\)"):
        m.predict(np.zeros((2, 3, 28, 28)))


def test_trace_step_applied_equals_a_train_step():
    rng = np.random.default_rng(10)
    a, b = mnist_cnn(seed=10), mnist_cnn(seed=10)
    x, y = rng.random((6, 1, 28, 28)).astype(np.float32), rng.integers(0, 10, 6)
    a.trace_step(x, y, apply=True)
    b.train(x, y, epochs=1, batch_size=6, shuffle=False, verbose=0)
    np.testing.assert_array_equal(a._params, b._params)


@pytest.mark.parametrize("opt", sorted(OPTIMIZERS))
def test_every_optimizer_takes_a_step(opt):
    rng = np.random.default_rng(11)
    m = mnist_cnn(seed=11, opt=opt)
    before = [w.copy() for w in m.get_weights()]
    m.train(rng.random((8, 1, 28, 28)), rng.integers(0, 10, 8), epochs=1, batch_size=8, verbose=0)
    after = m.get_weights()
    assert all(np.all(np.isfinite(w)) for w in after)
    assert not np.array_equal(before[0], after[0])  # first conv kernels moved
    assert not np.array_equal(before[2], after[2])  # second conv kernels moved


def test_save_load_round_trip_is_bit_identical(tmp_path):
    rng = np.random.default_rng(12)
    m = NN(seed=12)
    m.add(Conv2d(input_shape=(2, 9, 8), filters=4, kernel_size=(3, 2), stride=(2, 1), padding=(1, 0), activation="relu", l2=1e-4))
    m.add(Pool2d(3, stride=2, padding="same", kind="max"))
    m.add(Conv2d(filters=3, kernel_size=2, padding="same", activation="tanh", is_bias=False))
    m.add(Pool2d(2, padding="zero", kind="avg"))
    m.add(Flatten())
    m.add(FFL(neurons=3, activation="softmax"))
    m.compile_model(lr=1e-3, opt="adam", loss="cse", metrics=["accuracy"])
    x, y = rng.random((10, 2, 9, 8)).astype(np.float32), rng.integers(0, 3, 10)
    m.train(x, y, epochs=2, batch_size=4, verbose=0)
    path = tmp_path / "cnn.json"
    m.save_model(str(path))
    doc = json.loads(path.read_text())
    assert [layer["type"] for layer in doc["layers"]] == ["Conv2d", "Pool2d", "Conv2d", "Pool2d", "Flatten", "FFL"]
    assert doc["layers"][0]["config"]["padding"] == [1, 0] and doc["layers"][1]["config"]["kind"] == "max"
    loaded = nncore.load_model(str(path))
    assert loaded.get_config() == m.get_config()
    np.testing.assert_array_equal(loaded.predict(x), m.predict(x))
    for w1, w2 in zip(loaded.get_weights(), m.get_weights()):
        assert w1.shape == w2.shape and np.array_equal(w1, w2)
    for model in (m, loaded):  # the generator state is not part of the file
        model.rng = np.random.default_rng(13)
        model.train(x, y, epochs=1, batch_size=4, verbose=0)
    assert loaded.optimizer.t == m.optimizer.t
    np.testing.assert_array_equal(loaded._params, m._params)


# ---------------------------------------------------------------------- errors at add()
def test_errors_at_add_name_what_was_expected():
    m = NN()
    m.add(Conv2d(input_shape=(1, 4, 4), filters=2))
    with pytest.raises(ShapeError, match=r"kernel_size \(5, 5\) is larger than its padded input \(2, 2\)"):
        m.add(Conv2d(filters=2, kernel_size=5))
    with pytest.raises(ShapeError, match="larger than its padded input"):
        m.add(Pool2d(3))
    assert len(m.layers) == 1  # the model is unchanged
    m.add(Conv2d(filters=2, kernel_size=5, padding=2))  # fits once padded
    assert m.output_shape == (2, 2, 2)
    m.add(Conv2d(filters=1, kernel_size=2, stride=10))  # a stride larger than the input still gives one window
    assert m.output_shape == (1, 1, 1)

    with pytest.raises(ShapeError, match=r"takes images of shape \(channels, height, width\), but receives \(784,\)"):
        NN().add(Conv2d(input_shape=784, filters=2))
    flat = NN()
    flat.add(FFL(4, 8))
    with pytest.raises(ShapeError, match="flat vectors .* have no height and width. Put image layers before Flatten"):
        flat.add(Conv2d(filters=2))
    with pytest.raises(ShapeError, match="flat vectors .* have no height and width. Put image layers before Flatten"):
        flat.add(Pool2d(2))

    cnn = NN()
    cnn.add(Conv2d(input_shape=(1, 6, 6), filters=2))
    with pytest.raises(ShapeError, match=r"Layer 2 \(FFL\): FFL takes flat inputs .* gives \(2, 4, 4\)\. Add Flatten\(\)"):
        cnn.add(FFL(neurons=3))
    with pytest.raises(ValueError, match="end the model with Flatten"):
        cnn.compile_model(loss="mse")


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"padding": "full"}, "padding must be one of 'valid', 'same', 'zero', None, a non-negative integer"),
        ({"padding": -1}, "padding must be one of"),
        ({"padding": (1, 2, 3)}, "padding must be one of"),
        ({"stride": 0}, "stride must be a positive integer or a pair"),
        ({"stride": (1, 0)}, "stride must be a positive integer or a pair"),
        ({"kernel_size": 0}, "kernel_size must be a positive integer or a pair"),
        ({"kernel_size": (3,)}, "kernel_size must be a positive integer or a pair"),
        ({"kernel_size": 2.5}, "kernel_size must be a positive integer or a pair"),
        ({"filters": 0}, "filters must be a positive integer"),
        ({"filters": (2, 2)}, "filters must be a positive integer"),
        ({"activation": "swish"}, "Unknown activation"),
        ({"bias": [1.0], "is_bias": False}, "bias was given but is_bias=False"),
    ],
)
def test_bad_arguments_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Conv2d(input_shape=(1, 8, 8), **{"filters": 2, **kwargs})


def test_bad_given_arrays_are_refused_at_add():
    m = NN()
    with pytest.raises(ValueError, match=r"weights must have shape \(filters, channels, kh, kw\) = \(2, 3, 3, 3\)"):
        m.add(Conv2d(input_shape=(3, 8, 8), filters=2, weights=np.zeros((2, 3, 3))))
    with pytest.raises(ValueError, match=r"bias must have shape \(2,\)"):
        m.add(Conv2d(input_shape=(3, 8, 8), filters=2, bias=np.zeros(3)))
    assert m.layers == []


def test_absurd_sizes_are_refused_before_allocating():
    conv = Conv2d(filters=100_000, kernel_size=20)
    assert conv.planned_parameters((3, 32, 32)) == 100_000 * 3 * 400 + 100_000
    m = NN()
    m.add(Conv2d(input_shape=(3, 32, 32), filters=8))
    with pytest.raises(ValueError, match="parameters"):
        m.add(conv)
    assert len(m.layers) == 1 and conv.params == {}
    with pytest.raises(ShapeError, match=r"would output \(1, 200028, 200028\) = 40,011,200,784 values per sample"):
        m.add(Conv2d(filters=1, kernel_size=3, padding=100_000))  # few parameters, a huge output
    assert len(m.layers) == 1

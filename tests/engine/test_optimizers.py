"""Each optimizer against hand-computed updates (torch.optim's algorithms, written out per element)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from nncore import FFL, NN, optimizers

P0 = [0.5, -1.0, 2.0, 0.0, -0.25]
GRADS = [
    [0.1, -0.2, 0.3, 0.0, 1.5],
    [-0.4, 0.1, 0.2, 0.05, -1.0],
    [0.3, 0.3, -0.1, -0.2, 0.5],
    [0.0, -0.5, 0.4, 0.1, 0.2],
]


def reference(name, lr, steps, mr=0.0):
    """Plain-Python transcription of the torch.optim update rules, one element at a time."""
    out = []
    for j, p in enumerate(P0):
        s1 = s2 = 0.0
        for t, gs in enumerate(GRADS[:steps], start=1):
            g = gs[j]
            if name == "iterative":
                p -= lr * g
            elif name in ("sgd", "momentum"):
                mom, nesterov = (mr, False) if name == "sgd" else (0.9, True)
                s1 = g if t == 1 else mom * s1 + g
                p -= lr * ((g + mom * s1) if nesterov else s1)
            elif name == "rmsprop":
                s1 = 0.99 * s1 + 0.01 * g * g
                p -= lr * g / (math.sqrt(s1) + 1e-8)
            elif name == "adagrad":
                s1 += g * g
                p -= lr * g / (math.sqrt(s1) + 1e-10)
            elif name == "adam":
                s1 = 0.9 * s1 + 0.1 * g
                s2 = 0.999 * s2 + 0.001 * g * g
                denom = math.sqrt(s2) / math.sqrt(1 - 0.999**t) + 1e-8
                p -= lr / (1 - 0.9**t) * s1 / denom
            elif name == "adamax":
                s1 = 0.9 * s1 + 0.1 * g
                s2 = max(0.999 * s2, abs(g) + 1e-8)
                p -= lr / (1 - 0.9**t) * s1 / s2
            elif name == "adadelta":
                s1 = 0.9 * s1 + 0.1 * g * g
                delta = math.sqrt(s2 + 1e-6) / math.sqrt(s1 + 1e-6) * g
                s2 = 0.9 * s2 + 0.1 * delta * delta
                p -= lr * delta
        out.append(p)
    return np.array(out)


def run(opt, steps, dtype=np.float64):
    p = np.array(P0, dtype=dtype)
    for gs in GRADS[:steps]:
        opt.step(p, np.array(gs, dtype=dtype))
    return p


@pytest.mark.parametrize("name", list(optimizers.OPTIMIZERS))
@pytest.mark.parametrize("steps", [1, 2, 4])
def test_matches_reference_rule(name, steps):
    lr, mr = 0.05, 0.8
    opt = optimizers.get(name, lr=lr, mr=mr)
    np.testing.assert_allclose(run(opt, steps), reference(name, lr, steps, mr), rtol=1e-12, atol=1e-14)


def test_float32_step_matches_reference_closely():
    opt = optimizers.get("adam", lr=0.01)
    np.testing.assert_allclose(run(opt, 4, np.float32), reference("adam", 0.01, 4), rtol=1e-5)


def test_hand_computed_first_steps():
    # iterative: 0.5 - 0.1*0.1
    assert run(optimizers.get("iterative", lr=0.1), 1)[0] == pytest.approx(0.49)
    # Adam's first step is lr*sign(g) (up to eps): 0.5 - 0.05 = 0.45, and zero gradient → no move
    p = run(optimizers.get("adam", lr=0.05), 1)
    assert p[0] == pytest.approx(0.45, abs=1e-7) and p[3] == 0.0
    # sgd momentum 0.8, two steps on element 0: b1 = 0.1, p = 0.495; b2 = 0.8*0.1 - 0.4 = -0.32, p = 0.511
    p = run(optimizers.get("sgd", lr=0.05, mr=0.8), 2)
    assert p[0] == pytest.approx(0.511)
    # Nesterov (momentum 0.9), one step on element 0: b = 0.1, update = 0.1 + 0.9*0.1 = 0.19
    assert run(optimizers.get("momentum", lr=0.05), 1)[0] == pytest.approx(0.5 - 0.05 * 0.19)
    # Adagrad first step: g/|g| → p - lr
    assert run(optimizers.get("adagrad", lr=0.05), 1)[1] == pytest.approx(-1.0 + 0.05)
    # RMSprop first step: g / sqrt(0.01 g²) = 10 sign(g)
    assert run(optimizers.get("rmsprop", lr=0.01), 1)[2] == pytest.approx(2.0 - 0.1)
    # Adadelta first step (lr 1): sqrt(1e-6)/sqrt(0.1*0.09 + 1e-6) * 0.3
    expected = 2.0 - math.sqrt(1e-6) / math.sqrt(0.1 * 0.09 + 1e-6) * 0.3
    assert run(optimizers.get("adadelta", lr=1.0), 1)[2] == pytest.approx(expected)


def test_adam_moments_match_torch_definitions():
    opt = optimizers.Adam(lr=0.05)
    run(opt, 3)
    m, v = opt.moments()
    g = np.array(GRADS[:3])
    np.testing.assert_allclose(m, 0.1 * (0.81 * g[0] + 0.9 * g[1] + g[2]), rtol=1e-12)
    np.testing.assert_allclose(v, 0.001 * (0.999**2 * g[0] ** 2 + 0.999 * g[1] ** 2 + g[2] ** 2), rtol=1e-12)


def test_defaults_follow_torch():
    assert optimizers.get("momentum").momentum == 0.9 and optimizers.get("momentum").nesterov
    assert optimizers.get("sgd", lr=0.1, mr=0.3).momentum == 0.3
    adam = optimizers.Adam(lr=0.002, beta1=0.8, beta2=0.99, eps=1e-7)
    assert (adam.lr, adam.beta1, adam.beta2, adam.eps) == (0.002, 0.8, 0.99, 1e-7)
    assert optimizers.RMSprop().alpha == 0.99 and optimizers.RMSprop().eps == 1e-8
    assert optimizers.Adagrad().eps == 1e-10 and optimizers.Adadelta().rho == 0.9 and optimizers.Adadelta().eps == 1e-6


def test_unknown_name_lists_valid_ones():
    with pytest.raises(ValueError, match="Unknown optimizer 'nadam'.*'adam'.*'adadelta'"):
        optimizers.get("nadam")


@pytest.mark.parametrize("bad", [0, -1, float("nan"), "fast"])
def test_bad_learning_rate(bad):
    with pytest.raises(ValueError, match="lr must be"):
        optimizers.Adam(lr=bad)


def test_model_uses_optimizer_object_and_updates_in_place():
    m = NN(seed=0)
    m.add(FFL(3, 2, activation="softmax"))
    opt = optimizers.Adam(lr=0.01, beta1=0.5)
    m.compile_model(opt=opt, loss="cse")
    assert m.optimizer is opt
    before = m.layers[0].weights
    m.train(np.eye(3, dtype=np.float32), np.array([0, 1, 0]), epochs=2, batch_size=3, verbose=0)
    assert m.layers[0].weights is before  # the view into the flat buffer survives
    assert opt.t == 2 and all(v.dtype == np.float32 for v in opt.state.values())

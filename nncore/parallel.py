"""Data-parallel training steps: each mini-batch is split across worker threads.

NumPy runs every operation on one thread except BLAS products, and in a convolutional network most
of a step is not BLAS (im2col copies, pooling, activations, their gradients), so a second core
idles most of the time. Here each of k workers runs the forward and backward pass of a contiguous
k-th of the batch on its own replica of the layers (`Layer.replicate`: the same parameter arrays,
its own per-batch caches and gradient buffer), with one BLAS thread each (several threads calling
a pooled OpenBLAS at once are serialised on it). NumPy releases the GIL inside its loops, so the
workers really run at the same time.

The output layer's dL/dz is computed once on the whole batch, so the loss, its 1/n scaling and the
metrics are exactly those of the whole batch; the workers' gradient buffers are then summed into
the model's, and the optimizer updates one slice of the flat buffers per worker (its rules are
elementwise). A step equals the serial step up to float rounding (the sums run in another order) and
is deterministic for a given number of workers. Layers that draw random numbers (``stochastic``,
e.g. Dropout) get one generator per worker, seeded from the model's generator at every step.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import numpy as np

from .blas import shared_control

if TYPE_CHECKING:
    from .model import NN

#: below this many activation values per sample the step is mostly BLAS, which has its own threads
MIN_VALUES_PER_SAMPLE = 4096
#: every worker gets at least this many samples of a batch
MIN_SAMPLES_PER_WORKER = 16
MAX_WORKERS = 8
AUTO_MAX_WORKERS = 4

_QUIET = dict(over="ignore", invalid="ignore", divide="ignore", under="ignore")


def usable_cpus() -> int:
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def check_workers(value: Any) -> int | str:
    """"auto" or an int in [1, MAX_WORKERS]; ValueError naming the argument otherwise."""
    if isinstance(value, str) and value == "auto":
        return value
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or not 1 <= value <= MAX_WORKERS:
        raise ValueError(f"workers must be 'auto' or an integer from 1 to {MAX_WORKERS}; got {value!r}.")
    return int(value)


def activation_values(model: "NN") -> int:
    """Values every layer outputs per sample, summed: the elementwise work of one sample's step."""
    return sum(int(np.prod(layer.output_shape)) for layer in model.layers)


def auto_workers(model: "NN", batch_size: int) -> int:
    """The workers ``workers="auto"`` picks: 1 for networks whose step is mostly matrix products
    (fewer than MIN_VALUES_PER_SAMPLE activation values per sample, e.g. any MLP on MNIST), or when
    the BLAS's threads cannot be controlled; else min(usable CPUs, AUTO_MAX_WORKERS,
    batch_size // MIN_SAMPLES_PER_WORKER)."""
    if activation_values(model) < MIN_VALUES_PER_SAMPLE or shared_control() is None:
        return 1
    return max(1, min(usable_cpus(), AUTO_MAX_WORKERS, batch_size // MIN_SAMPLES_PER_WORKER))


def resolve_workers(model: "NN", workers: int | str, batch_size: int) -> int:
    """The number of workers a `train` call uses (at most one per sample of a batch)."""
    workers = check_workers(workers)
    chosen = auto_workers(model, batch_size) if workers == "auto" else workers
    return max(1, min(chosen, batch_size))


def _gradient_views(model: "NN", buffer: np.ndarray) -> list[dict[str, np.ndarray]]:
    """Per layer, views of ``buffer`` laid out like the model's flat gradient buffer."""
    views, offset = [], 0
    for layer in model.layers:
        named = {}
        for name, grad in layer.grads.items():
            named[name] = buffer[offset : offset + grad.size].reshape(grad.shape)
            offset += grad.size
        views.append(named)
    if offset != buffer.size:
        raise RuntimeError(f"the layers' gradients hold {offset} values; the model's buffer {buffer.size}")
    return views


class DataParallelStep:
    """Forward and backward passes of a batch split over ``workers`` threads (see the module doc).

    Made for one `train` call: the replicas share the model's parameter arrays as they are now.
    Call ``close()`` when training ends (or use it as a context manager).
    """

    def __init__(self, model: "NN", workers: int) -> None:
        if workers < 2:
            raise ValueError(f"DataParallelStep needs at least 2 workers; got {workers}.")
        self.model = model
        self.workers = workers
        self.buffers = [np.zeros_like(model._grads) for _ in range(workers)]
        self.replicas = []
        for buffer in self.buffers:
            views = _gradient_views(model, buffer)
            self.replicas.append([layer.replicate(g) for layer, g in zip(model.layers, views)])
        self.stochastic = [[l for l in replica if l.stochastic] for replica in self.replicas]
        self._pool = ThreadPoolExecutor(workers - 1, thread_name_prefix="nncore-worker")
        self._parts, self._bounds = 0, np.zeros(1, dtype=int)  # set by forward() for backward()

    def __enter__(self) -> "DataParallelStep":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    def _map(self, fn: Any, args: list[tuple]) -> list[Any]:
        """fn(*args[0]) on this thread, the others on the pool; results in order (errors re-raised)."""
        futures = [self._pool.submit(fn, *a) for a in args[1:]]
        first = fn(*args[0])
        return [first] + [f.result() for f in futures]

    def forward(self, xb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Training forward pass of a prepared batch → (z, a) of the output layer, (n, outputs)."""
        parts = min(self.workers, len(xb))
        bounds = np.linspace(0, len(xb), parts + 1).round().astype(int)
        if any(self.stochastic[:parts]):
            seeds = self.model.rng.integers(0, 2**63, size=parts)
            for layers, seed in zip(self.stochastic, seeds):
                for layer in layers:
                    layer.rng = np.random.default_rng(int(seed))
        self._parts, self._bounds = parts, bounds
        outs = self._map(_forward, [(self.model, self.replicas[r], xb[bounds[r] : bounds[r + 1]]) for r in range(parts)])
        return np.concatenate([z for z, _ in outs]), np.concatenate([a for _, a in outs])

    def backward(self, grad_z: np.ndarray) -> None:
        """Backpropagate dL/dz of the output layer (whole batch) and sum the workers' gradients into
        the model's buffer (l2 terms not included: the model adds them once)."""
        parts, bounds = self._parts, self._bounds
        self._map(_backward, [(self.model, self.replicas[r], grad_z[bounds[r] : bounds[r + 1]]) for r in range(parts)])
        total = self.model._grads
        if parts == 1:
            np.copyto(total, self.buffers[0])
        else:
            np.add(self.buffers[0], self.buffers[1], out=total)
            for buffer in self.buffers[2:parts]:
                total += buffer

    def optimize(self, optimizer: Any, params: np.ndarray, grads: np.ndarray) -> None:
        """``optimizer.step(params, grads)`` with the flat buffers cut into one slice per worker."""
        if not hasattr(optimizer, "update_slice"):  # an optimizer object of the user's own: whole
            optimizer.step(params, grads)
            return
        optimizer.begin_step(params)
        bounds = np.linspace(0, params.size, self.workers + 1).round().astype(int)
        self._map(_update_slice, [(optimizer, params, grads, int(lo), int(hi)) for lo, hi in zip(bounds[:-1], bounds[1:])])


def _forward(model: "NN", layers: list, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    with np.errstate(**_QUIET):  # NumPy's error state is per thread
        return model._forward(x, True, layers)


def _backward(model: "NN", layers: list, grad_z: np.ndarray) -> None:
    with np.errstate(**_QUIET):
        model._backward(grad_z, layers)


def _update_slice(optimizer: Any, params: np.ndarray, grads: np.ndarray, lo: int, hi: int) -> None:
    with np.errstate(**_QUIET):
        optimizer.update_slice(params, grads, lo, hi)

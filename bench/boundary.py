"""Benchmark of the Playground view: how fast the decision boundary and neuron heatmaps follow training.

Workload: the default Playground network (nncore.playground: features x1, x2, sin x1, sin x2;
hidden 8-8 tanh; softmax + cross-entropy; adam lr 0.01; batch 10) on "spiral" (500 points, half
for test). Prints

* grid update: ``decision_grid`` on 100 × 100 points, and the whole boundary update the page
  does (snapshot copy of the model + grid + point predictions + heatmap figure as JSON);
* neuron grids: ``neuron_grids`` on 40 × 40 points for all 16 hidden units (+ input features),
  and with the thumbnails encoded as PNG;
* training alone: batches/s and epochs/s of ``model.train``;
* training while the view updates: a TrainingRun trains at full speed in its thread while this
  thread computes full view updates back to back: updates/s achieved and batches/s meanwhile.

Targets (issue 12): grid update <= 50 ms for an 8-8 network at 100 × 100; >= 10 boundary
updates per second computed while training.

    python bench/boundary.py [--seconds 3] [--learn [--seeds 5] [--max-epochs 500]]

``--learn`` also prints the epochs each Playground set needs to learn with the default network
(test accuracy >= 95 %, or test R² >= 0.95 for regression), for noise 0 and 10, over weight seeds.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from nncore import boundary as B  # noqa: E402
from nncore import datasets  # noqa: E402
from nncore import playground as P  # noqa: E402


def timed(fn, repeat: int = 30) -> float:
    """Median milliseconds of ``fn()`` over ``repeat`` calls after two warm-up calls."""
    fn(), fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return 1e3 * statistics.median(times)


def view_pieces():
    """The page's figure builders (importing the page does not run it)."""
    import plotly.io as pio

    from pages import playground as page

    def boundary_json(model, ds, extent):
        grid = B.decision_grid(model, extent, page.GRID_RESOLUTION)
        preds = {"train": B.point_predictions(model, ds.x), "test": B.point_predictions(model, ds.x_test)}
        spec = page.boundary_spec(grid, ds, preds, discrete=False, value_range=B.value_range(ds))
        return pio.to_json(spec, validate=False)

    def thumbnails(model, ds, extent):
        units = B.neuron_grids(model, extent, page.NEURON_RESOLUTION)
        return page.thumbnails_html(units, B.feature_grids(ds.transform, extent, page.NEURON_RESOLUTION))

    return boundary_json, thumbnails


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=3.0, help="length of the concurrent measurement")
    ap.add_argument("--learn", action="store_true", help="also print the epochs-to-learn table")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--max-epochs", type=int, default=500)
    args = ap.parse_args()

    ds = datasets.get("spiral", features=P.DEFAULT_FEATURES)
    model = P.playground_model(ds, seed=0)
    model.train(ds.x, ds.y, epochs=5, batch_size=P.DEFAULT_BATCH_SIZE, verbose=0)
    extent = B.data_extent(ds)
    boundary_json, thumbnails = view_pieces()

    print("Playground view, 8-8 tanh network on spiral (features x1, x2, sin x1, sin x2; 250 train + 250 test points)")
    grid_ms = timed(lambda: B.decision_grid(model, extent, 100))
    copy_ms = timed(model.copy)
    update_ms = timed(lambda: boundary_json(model.copy(), ds, extent))
    print(f"  grid update (decision_grid 100x100)                 {grid_ms:6.2f} ms   target <= 50 ms")
    print(f"  boundary update (copy + grid + points + figure JSON) {update_ms:6.2f} ms   (model copy {copy_ms:.2f} ms)")
    neuron_ms = timed(lambda: B.neuron_grids(model, extent, 40))
    thumbs_ms = timed(lambda: thumbnails(model, ds, extent))
    print(f"  neuron grids (16 units, 40x40)                      {neuron_ms:6.2f} ms")
    print(f"  neuron + input thumbnails as PNG/HTML               {thumbs_ms:6.2f} ms")

    # training alone
    m = P.playground_model(ds, seed=1)
    n_batches = int(np.ceil(len(ds.x) / P.DEFAULT_BATCH_SIZE))
    t = time.perf_counter()
    m.train(ds.x, ds.y, epochs=40, batch_size=P.DEFAULT_BATCH_SIZE, verbose=0, val_x=ds.x_test, val_y=ds.y_test)
    dt = time.perf_counter() - t
    print(f"  training alone: {40 * n_batches / dt:8.0f} batches/s ({40 / dt:.0f} epochs/s of {n_batches} batches)")

    # training in a TrainingRun while this thread draws back to back
    from nncore.studio.run import TrainingRun

    m = P.playground_model(ds, seed=2)
    run = TrainingRun(m, ds.x, ds.y, val_x=ds.x_test, val_y=ds.y_test, batch_size=P.DEFAULT_BATCH_SIZE)
    run.start(1_000_000)
    time.sleep(0.2)
    start_step, updates = run.progress().step, 0
    t = time.perf_counter()
    while time.perf_counter() - t < args.seconds:
        snap = run.snapshot_model(timeout=5.0)
        boundary_json(snap, ds, extent)
        thumbnails(snap, ds, extent)
        updates += 1
    dt = time.perf_counter() - t
    steps = run.progress().step - start_step
    run.stop()
    run.join(10)
    print(f"  while training at full speed: {updates / dt:6.1f} full view updates/s computed "
          f"(boundary + neurons), training meanwhile {steps / dt:7.0f} batches/s   target >= 10 updates/s")

    if args.learn:
        learn_table(args.seeds, args.max_epochs)


def learn_table(seeds: int, max_epochs: int) -> None:
    print()
    print(f"Epochs to learn with the default network (8-8 tanh, features {', '.join(P.DEFAULT_FEATURES)}, adam lr "
          f"{P.DEFAULT_LR}, batch {P.DEFAULT_BATCH_SIZE}); learnt = test accuracy >= 95 % (test R² >= 0.95 "
          f"for regression); weight seeds 0-{seeds - 1}, data seed 0; '-' = not within {max_epochs} epochs")
    print(f"  {'dataset':<10} {'noise':>5}  {'median':>6}  {'min':>4}  {'max':>4}  per seed")
    for name in ("circle", "xor", "gauss", "spiral", "reg-plane", "reg-gauss"):
        for noise in (0, 10):
            ds = datasets.get(name, noise=noise, seed=0, features=P.DEFAULT_FEATURES)
            counts = [P.epochs_to_learn(P.playground_model(ds, seed=s), ds, max_epochs=max_epochs) for s in range(seeds)]
            done = [c for c in counts if c is not None]
            med = f"{statistics.median(done):6.0f}" if len(done) == len(counts) else "     -"
            lo = f"{min(done):4d}" if done else "   -"
            hi = f"{max(done):4d}" if len(done) == len(counts) else "   -"
            per = " ".join("-" if c is None else str(c) for c in counts)
            print(f"  {name:<10} {noise:>5}  {med}  {lo}  {hi}  {per}", flush=True)


if __name__ == "__main__":
    main()

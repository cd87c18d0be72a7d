"""Benchmark workload W: MLP 784-256-128-10 (ReLU, softmax + cross-entropy), Adam 1e-3, batch 128,
float32, on the 60 000 MNIST training images scaled to [0, 1].

Prints seconds per epoch (median of 3 after a warm-up epoch), samples/s, peak RSS, test accuracy
after 5 epochs, the cost of the per-epoch layer statistics, and — when PyTorch and/or
scikit-learn are importable — the same workload with them in this process and the ratios.

    python bench/train_mlp.py [--epochs-timed 3] [--no-torch] [--no-sklearn]
"""
from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nncore import FFL, NN  # noqa: E402
from nncore.datasets import load_mnist, scale  # noqa: E402

BATCH = 128


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def build(seed: int = 0) -> NN:
    m = NN(seed=seed)
    m.add(FFL(784, 256, activation="relu"))
    m.add(FFL(neurons=128, activation="relu"))
    m.add(FFL(neurons=10, activation="softmax"))
    m.compile_model(lr=1e-3, opt="adam", loss="cse", metrics=["accuracy"])
    return m


def bench_nncore(x, y, xt, yt, timed: int) -> dict:
    m = build()
    m.train(x, y, epochs=1, batch_size=BATCH, verbose=0)  # warm-up
    times = []
    for _ in range(timed):
        m.train(x, y, epochs=1, batch_size=BATCH, verbose=0)
        times.append(m.history["seconds"][-1])
    if m.epoch < 5:
        m.train(x, y, epochs=5 - m.epoch, batch_size=BATCH, verbose=0)
    acc = m.evaluate(xt, yt)["accuracy"]
    # the per-epoch statistics (issue 5) are part of the epoch time above; measure them alone too
    stat_times = []
    for _ in range(5):
        t0 = time.perf_counter()
        m._record_stats(0)
        stat_times.append(time.perf_counter() - t0)
    return {"epoch_s": statistics.median(times), "times": times, "acc5": acc, "epochs": m.epoch,
            "stats_s": statistics.median(stat_times)}


def bench_torch(x, y, xt, yt, timed: int, style: str) -> dict | None:
    try:
        import torch
    except ImportError:
        return None
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10)
    )
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    lossf = torch.nn.CrossEntropyLoss()
    X, Y = torch.from_numpy(x), torch.from_numpy(y.astype(np.int64))
    g = torch.Generator().manual_seed(0)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, Y), batch_size=BATCH, shuffle=True, generator=g)

    def batches():
        if style == "dataloader":  # the standard PyTorch loop
            yield from loader
            return
        perm = torch.randperm(len(X), generator=g)  # hand-tuned: index the tensors directly
        for i in range(0, len(X), BATCH):
            idx = perm[i : i + BATCH]
            yield X[idx], Y[idx]

    def epoch() -> float:
        t0 = time.perf_counter()
        for xb, yb in batches():
            opt.zero_grad()
            loss = lossf(net(xb), yb)
            loss.backward()
            opt.step()
        return time.perf_counter() - t0

    epoch()
    times = [epoch() for _ in range(timed)]
    for _ in range(5 - 1 - timed):
        epoch()
    with torch.no_grad():
        acc = float((net(torch.from_numpy(xt)).argmax(1).numpy() == yt).mean())
    return {"epoch_s": statistics.median(times), "times": times, "acc5": acc, "threads": torch.get_num_threads(),
            "version": torch.__version__}


def bench_sklearn(x, y, xt, yt) -> dict | None:
    try:
        from sklearn.neural_network import MLPClassifier
    except ImportError:
        return None
    clf = MLPClassifier(hidden_layer_sizes=(256, 128), batch_size=BATCH, learning_rate_init=1e-3, max_iter=1,
                        shuffle=True, random_state=0, warm_start=True)
    import warnings

    times = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(x, y)  # warm-up epoch
        for _ in range(3):
            t0 = time.perf_counter()
            clf.fit(x, y)
            times.append(time.perf_counter() - t0)
        clf.fit(x, y)
    return {"epoch_s": statistics.median(times), "acc5": float(clf.score(xt, yt))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs-timed", type=int, default=3)
    ap.add_argument("--no-torch", action="store_true")
    ap.add_argument("--no-sklearn", action="store_true")
    args = ap.parse_args()

    t0 = time.perf_counter()
    (x_u8, y), (xt_u8, yt) = load_mnist()
    load_s = time.perf_counter() - t0
    x, xt = scale(x_u8), scale(xt_u8)
    print(f"MNIST loaded and verified in {load_s:.2f} s; train {x.shape} {x.dtype}, test {xt.shape}")

    r = bench_nncore(x, y, xt, yt, args.epochs_timed)
    rss = peak_rss_mb()
    sps = len(x) / r["epoch_s"]
    print("\n== nncore (NumPy", np.__version__, ")")
    print(f"epoch time (median of {len(r['times'])} after warm-up): {r['epoch_s']:.3f} s   "
          f"[{', '.join(f'{t:.3f}' for t in r['times'])}]")
    print(f"throughput: {sps:,.0f} samples/s")
    print(f"test accuracy after {r['epochs']} epochs: {100 * r['acc5']:.2f} %")
    print(f"peak RSS (nncore run, before any other framework is imported): {rss:.0f} MB")
    print(f"per-epoch layer statistics: {1000 * r['stats_s']:.1f} ms = {100 * r['stats_s'] / r['epoch_s']:.2f} % of an epoch")

    if not args.no_torch:
        for style, label in (("dataloader", "standard loop: TensorDataset + DataLoader(shuffle=True)"),
                             ("indexed", "hand-tuned loop: randperm + direct tensor indexing")):
            t = bench_torch(x, y, xt, yt, args.epochs_timed, style)
            if t is None:
                print("\n== PyTorch: not importable (pip install torch==2.13.0 for the CPU build); skipped")
                break
            print(f"\n== PyTorch {t['version']} CPU ({t['threads']} threads), default Adam, {label}")
            print(f"epoch time (median): {t['epoch_s']:.3f} s   [{', '.join(f'{v:.3f}' for v in t['times'])}]")
            print(f"test accuracy after 5 epochs: {100 * t['acc5']:.2f} %")
            ratio = r["epoch_s"] / t["epoch_s"]
            print(f"ratio nncore / PyTorch epoch time: {ratio:.2f}  (target ≤ 0.60: {'met' if ratio <= 0.6 else 'NOT met'})")
    if not args.no_sklearn:
        s = bench_sklearn(x, y, xt, yt)
        if s is None:
            print("\n== scikit-learn: not importable; skipped")
        else:
            print(f"\n== scikit-learn MLPClassifier: epoch {s['epoch_s']:.3f} s, accuracy after 5 epochs {100 * s['acc5']:.2f} %")
            print(f"ratio nncore / scikit-learn epoch time: {r['epoch_s'] / s['epoch_s']:.2f}")
    print(f"\ntargets: accuracy ≥ 97.8 % ({'met' if r['acc5'] >= 0.978 else 'NOT met'}), "
          f"peak RSS ≤ 400 MB ({'met' if rss <= 400 else 'NOT met'})")


if __name__ == "__main__":
    main()

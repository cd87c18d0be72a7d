"""Benchmark: time to load MNIST (median of 3), the pretrained models (median of 5) and to preprocess a
280x280 canvas (median of 20), and one drawing read by each model (preprocessing + predict, median of 20).

    python bench/load_mnist.py

Prints figures; no asserts.  Targets: load_mnist() <= 1 s, pretrained MLP and CNN <= 0.5 s each,
canvas_to_mnist() < 20 ms, one drawing (preprocessing + predict) with the CNN <= 20 ms.
"""
from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nncore import PRETRAINED_MODEL_PATH, load_model, load_pretrained  # noqa: E402
from nncore.datasets import load_mnist  # noqa: E402
from nncore.preprocess import canvas_to_mnist  # noqa: E402
from nncore.studio.data import as_raw_image, raw_input  # noqa: E402

CNN_PATH = PRETRAINED_MODEL_PATH.parent / "mnist_cnn.json"


def _median_time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    t_verify = _median_time(load_mnist, 3)
    t_noverify = _median_time(lambda: load_mnist(verify=False), 3)
    print(f"load_mnist()              median of 3: {t_verify * 1000:7.1f} ms  (4 files, SHA-256 verified)")
    print(f"load_mnist(verify=False)  median of 3: {t_noverify * 1000:7.1f} ms")

    t_model = _median_time(load_pretrained, 5)
    size_mb = PRETRAINED_MODEL_PATH.stat().st_size / 1e6
    print(f"load_pretrained()         median of 5: {t_model * 1000:7.1f} ms  ({PRETRAINED_MODEL_PATH.name}, {size_mb:.2f} MB)")

    _, (x_test, _) = load_mnist(verify=False)
    digit = x_test[0]
    ys, xs = np.nonzero(digit)
    crop = digit[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    big = np.asarray(Image.fromarray(crop).resize((crop.shape[1] * 10, crop.shape[0] * 10), Image.Resampling.BICUBIC))
    canvas = np.zeros((280, 280, 4), np.uint8)  # white strokes on a transparent background
    canvas[30 : 30 + big.shape[0], 40 : 40 + big.shape[1], :3] = 255
    canvas[30 : 30 + big.shape[0], 40 : 40 + big.shape[1], 3] = big
    thin = np.zeros((280, 280, 4), np.uint8)  # a 2-px pen: takes the stroke-widening path
    thin[40:240, 139:141] = 255
    thin[40:42, 80:200] = 255
    canvas_to_mnist(canvas)  # warm-up
    t_canvas = _median_time(lambda: canvas_to_mnist(canvas), 20)
    t_thin = _median_time(lambda: canvas_to_mnist(thin), 20)
    t_empty = _median_time(lambda: canvas_to_mnist(np.zeros((280, 280, 4), np.uint8)), 20)
    print(f"canvas_to_mnist 280x280   median of 20: {t_canvas * 1000:7.2f} ms  (digit, 10x)")
    print(f"canvas_to_mnist 280x280   median of 20: {t_thin * 1000:7.2f} ms  (2 px pen, strokes widened)")
    print(f"canvas_to_mnist 280x280   median of 20: {t_empty * 1000:7.2f} ms  (empty canvas)")

    mlp = load_pretrained()
    t_read = _median_time(lambda: mlp.predict(canvas_to_mnist(canvas).vector[None]), 20)
    print(f"one drawing, MLP          median of 20: {t_read * 1000:7.2f} ms  (canvas_to_mnist + predict)")
    if not CNN_PATH.is_file():
        print(f"{CNN_PATH.name} is missing: build it with python models/train_cnn.py")
        return
    t_cnn = _median_time(lambda: load_model(CNN_PATH), 5)
    print(f"load_model(CNN)           median of 5: {t_cnn * 1000:7.1f} ms  ({CNN_PATH.name}, {CNN_PATH.stat().st_size / 1e6:.2f} MB)")
    cnn = load_model(CNN_PATH)
    cnn.predict(raw_input(cnn, as_raw_image(canvas_to_mnist(canvas).image)))  # warm-up
    t_read = _median_time(lambda: cnn.predict(raw_input(cnn, as_raw_image(canvas_to_mnist(canvas).image))), 20)
    print(f"one drawing, CNN          median of 20: {t_read * 1000:7.2f} ms  (canvas_to_mnist + predict)")


if __name__ == "__main__":
    main()

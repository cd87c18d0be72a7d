"""Train the pretrained MNIST model shipped as models/mnist_mlp.json (reproducible: fixed seed).

    python models/train_default.py            # ~1 minute on 2 cores

784-256-128-10 MLP (ReLU, dropout 0.2, softmax + cross-entropy), Adam 1e-3, batch 128, 15 epochs
on the 60 000 MNIST training images; prints the test accuracy and writes the model without its
optimizer state (smaller file).
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from nncore import FFL, NN, Dropout, load_model  # noqa: E402
from nncore.datasets import load_mnist, scale  # noqa: E402

OUT = HERE / "mnist_mlp.json"
SEED = 2026
EPOCHS = 15


def main() -> None:
    (x_train, y_train), (x_test, y_test) = load_mnist()
    x, xt = scale(x_train), scale(x_test)
    m = NN(seed=SEED)
    m.add(FFL(784, 256, activation="relu"))
    m.add(Dropout(0.2))
    m.add(FFL(neurons=128, activation="relu"))
    m.add(Dropout(0.2))
    m.add(FFL(neurons=10, activation="softmax"))
    m.compile_model(lr=1e-3, opt="adam", loss="cse", metrics=["accuracy"])
    m.train(x, y_train, epochs=EPOCHS, batch_size=128, shuffle=True, val_x=xt, val_y=y_test, verbose=1)
    result = m.evaluate(xt, y_test)
    m.save_model(OUT, include_optimizer=False)
    t0 = time.perf_counter()
    load_model(OUT)
    print(f"test accuracy {100 * result['accuracy']:.2f} %, loss {result['loss']:.4f}; "
          f"{OUT.name}: {OUT.stat().st_size / 1e6:.2f} MB, loads in {time.perf_counter() - t0:.3f} s")


if __name__ == "__main__":
    main()

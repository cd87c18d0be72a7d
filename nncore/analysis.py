"""Looking inside a network (the dashboard's Inspect page): weights as images, layer outputs, saliency, statistics.

Nothing here knows about Streamlit. Everything works on an nncore ``NN`` (or a snapshot copy of one
that another thread is training) and never changes the model:

* first-layer weights as 28x28 tiles and an 8x8 mosaic (:func:`weight_tiles`, :func:`mosaic`),
* convolutional layers: kernels as small tiles (:func:`kernel_tiles`), every conv and pooling
  layer's feature maps for one input (:func:`feature_maps`, :func:`scale_maps`), and the pixels of
  such mosaics as images (:func:`diverging_rgb`, :func:`grey_rgb`, :func:`upscale`),
* every layer's output for one input and the most active units (:func:`layer_outputs`, :func:`top_units`),
* saliency maps |d score / d input| (:func:`saliency`, :func:`normalize_map`),
* weight and gradient statistics over epochs from ``model.layer_stats`` (:func:`stats_frame`,
  :func:`histogram_lines`, :func:`gradient_health`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

SIDE = 28  # MNIST images are 28x28


# ----------------------------------------------------------------------------------------------
# Layer names
# ----------------------------------------------------------------------------------------------
def dense_layer_labels(model: Any) -> dict[str, str]:
    """Engine layer name (as in ``layer_stats``) -> a label people can read, for every FFL.

    E.g. ``{"Dense 1": "Dense 1 (784→128, relu)", ..., "Output": "Output (64→10, softmax)"}``.
    """
    out: dict[str, str] = {}
    for name, layer in zip(model.layer_names(), model.layers):
        if _is_dense(layer):
            out[name] = f"{name} ({layer.input_size}→{layer.output_size}, {layer.activation_name})"
    return out


def layer_labels(model: Any) -> dict[str, str]:
    """Like :func:`dense_layer_labels`, for conv and pooling layers too, e.g.
    ``"Conv 1 (16 filters 3×3, relu)"``, ``"Pool 1 (max 2×2)"``."""
    out: dict[str, str] = {}
    for name, layer in zip(model.layer_names(), model.layers):
        if _is_dense(layer):
            out[name] = f"{name} ({layer.input_size}→{layer.output_size}, {layer.activation_name})"
        elif _is_conv(layer):
            kh, kw = layer.kernel_size
            out[name] = f"{name} ({layer.filters} filters {kh}×{kw}, {layer.activation_name})"
        elif _is_pool(layer):
            kh, kw = layer.kernel_size
            out[name] = f"{name} ({layer.kind} {kh}×{kw})"
    return out


def _is_conv(layer: Any) -> bool:
    """A layer with (filters, channels, kh, kw) kernels."""
    w = layer.params.get("weights")
    return w is not None and w.ndim == 4


def _is_pool(layer: Any) -> bool:
    return type(layer).__name__ == "Pool2d"


def has_conv(model: Any) -> bool:
    return any(_is_conv(l) for l in model.layers)


def _is_dense(layer: Any) -> bool:
    """A layer with a (inputs, units) weight matrix on flat inputs."""
    w = layer.params.get("weights")
    return w is not None and w.ndim == 2 and len(layer.input_shape) == 1


# ----------------------------------------------------------------------------------------------
# Weights as images
# ----------------------------------------------------------------------------------------------
def first_layer_weights(model: Any) -> np.ndarray:
    """The first FFL's weights, shape (inputs, neurons)."""
    dense = [l for l in model.layers if _is_dense(l)]
    if not dense:
        raise ValueError("The model has no dense layer.")
    return np.asarray(dense[0].weights)


def weight_tiles(
    weights: np.ndarray, units: Any = None, max_units: int = 64, side: int = SIDE
) -> tuple[np.ndarray, np.ndarray]:
    """Incoming weights of some units as images: (k, side, side) tiles and their unit indices.

    ``weights`` is (side*side, neurons). ``units`` picks the units (default: the first
    ``max_units``).
    """
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 2 or w.shape[0] != side * side:
        raise ValueError(f"Expected weights of shape ({side * side}, neurons); got {w.shape}.")
    if units is None:
        idx = np.arange(min(int(max_units), w.shape[1]))
    else:
        idx = np.asarray(units, dtype=np.int64).reshape(-1)[: int(max_units)]
        if idx.size and (idx.min() < 0 or idx.max() >= w.shape[1]):
            raise ValueError(f"Unit indices must be in 0..{w.shape[1] - 1}.")
    tiles = w[:, idx].T.reshape(len(idx), side, side)
    return tiles, idx


def mosaic(tiles: np.ndarray, cols: int | None = None, pad: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Tile (k, h, w) images into one image, row by row, with ``pad`` pixels of NaN between tiles.

    Returns the mosaic (float, NaN in the gaps and unused cells) and an int array of the same shape
    holding the tile number under each pixel (-1 in the gaps), for hover texts.
    """
    tiles = np.asarray(tiles, dtype=np.float64)
    if tiles.ndim != 3:
        raise ValueError(f"Expected tiles of shape (k, h, w); got {tiles.shape}.")
    k, h, w = tiles.shape
    if cols is None:
        cols = max(1, math.ceil(math.sqrt(k)))
    cols = max(1, int(cols))
    rows = max(1, math.ceil(k / cols))
    H = rows * h + (rows - 1) * pad
    W = cols * w + (cols - 1) * pad
    img = np.full((H, W), np.nan)
    which = np.full((H, W), -1, dtype=np.int64)
    for i in range(k):
        r, c = divmod(i, cols)
        y0, x0 = r * (h + pad), c * (w + pad)
        img[y0 : y0 + h, x0 : x0 + w] = tiles[i]
        which[y0 : y0 + h, x0 : x0 + w] = i
    return img, which


def symmetric_limit(a: np.ndarray, percentile: float = 99.0) -> float:
    """A positive colour limit L so that [-L, L] covers ``percentile`` % of |a| (NaNs ignored).

    Centring a diverging colour scale on 0 with this limit keeps a few extreme weights from washing
    out all the others.
    """
    v = np.abs(np.asarray(a, dtype=np.float64))
    v = v[np.isfinite(v)]
    if v.size == 0:
        return 1.0
    lim = float(np.percentile(v, percentile))
    if not lim > 0:
        lim = float(v.max())
    return lim if lim > 0 else 1.0


# ----------------------------------------------------------------------------------------------
# Convolutional layers: kernels and feature maps as tiles
# ----------------------------------------------------------------------------------------------
def conv_layers(model: Any) -> list[tuple[str, Any]]:
    """(engine name, layer) of every Conv2d, in order."""
    return [(n, l) for n, l in zip(model.layer_names(), model.layers) if _is_conv(l)]


@dataclass(frozen=True)
class KernelTiles:
    tiles: np.ndarray  # (k, kh, kw) float64 weights
    cols: int  # tiles per row of the mosaic
    filters: int  # filters shown (of ``total_filters``)
    channels: int  # input channels shown per filter (1 when averaged)
    total_filters: int
    total_channels: int
    per_channel: bool  # False: each tile is the mean over the input channels

    @property
    def text(self) -> str:
        f = (f"all {self.total_filters} filters" if self.filters == self.total_filters
             else f"the first {self.filters} of {self.total_filters} filters")
        if self.total_channels == 1:
            return f"{f}, one tile each (the input has one channel)"
        if not self.per_channel:
            return f"{f}, one tile each: the mean of its {self.total_channels} input-channel kernels"
        c = (f"all {self.total_channels} input channels" if self.channels == self.total_channels
             else f"the first {self.channels} of {self.total_channels} input channels")
        return f"{f} (rows) × {c} (columns)"


def kernel_tiles(weights: np.ndarray, per_channel: bool = True, max_filters: int = 32,
                 max_channels: int = 32, cols: int = 8) -> KernelTiles:
    """Kernels of a conv layer as tiles for :func:`mosaic`.

    ``weights`` is (filters, channels, kh, kw). With one input channel every filter is one tile
    (``cols`` per row). With several: ``per_channel`` gives one row per filter and one column per
    input channel (the kernel that filter applies to that channel), else one tile per filter holding
    the mean over its input channels. At most ``max_filters`` filters and ``max_channels`` channels.
    """
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 4:
        raise ValueError(f"Expected conv weights of shape (filters, channels, kh, kw); got {w.shape}.")
    n_f, n_c, kh, kw = w.shape
    f = min(n_f, max(1, int(max_filters)))
    if n_c == 1 or not per_channel:
        tiles = w[:f, 0] if n_c == 1 else w[:f].mean(axis=1)
        return KernelTiles(tiles, max(1, min(int(cols), f)), f, 1, n_f, n_c, n_c == 1)
    c = min(n_c, max(1, int(max_channels)))
    return KernelTiles(w[:f, :c].reshape(f * c, kh, kw), c, f, c, n_f, n_c, True)


@dataclass(frozen=True)
class MapLayer:
    name: str  # engine name, e.g. "Conv 1"
    label: str  # e.g. "Conv 1 (16 filters 3×3, relu)"
    kind: str  # "conv" or "pool"
    maps: np.ndarray  # (channels, height, width) float64


def feature_maps(model: Any, x: np.ndarray) -> list[MapLayer]:
    """The output of every conv and pooling layer for one raw input ``x``, at inference: each a
    (channels, height, width) stack of feature maps (conv maps after the activation)."""
    outs = model.feedforward(batch_of_one(model, x))
    labels = layer_labels(model)
    res = []
    for name, layer, out in zip(model.layer_names(), model.layers, outs):
        a = np.asarray(out[0], dtype=np.float64)
        if a.ndim == 3 and (_is_conv(layer) or _is_pool(layer)):
            res.append(MapLayer(name, labels.get(name, name), "conv" if _is_conv(layer) else "pool", a))
    return res


def scale_maps(maps: np.ndarray) -> np.ndarray:
    """Feature maps (channels, h, w) → 0..1 with one scale for the whole layer, so that maps can be
    compared: non-negative maps (after relu) are divided by the layer's maximum (0 stays black);
    maps with negative values go linearly from the layer's minimum (0) to its maximum (1). All
    zeros when the layer is constant or not finite."""
    m = np.asarray(maps, dtype=np.float64)
    finite = m[np.isfinite(m)]
    if finite.size == 0:
        return np.zeros_like(m)
    lo, hi = float(finite.min()), float(finite.max())
    if lo >= 0:
        lo = 0.0
    if not hi > lo:
        return np.zeros_like(m)
    return np.where(np.isfinite(m), (m - lo) / (hi - lo), 0.0)


def map_columns(channels: int, max_cols: int = 8) -> int:
    """Maps per row of a mosaic: at most ``max_cols``, fewer rows when the count divides well."""
    return max(1, min(int(channels), int(max_cols)))


def upscale(img: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour enlargement of an (h, w) or (h, w, 3) image by an integer ``factor``."""
    f = max(1, int(factor))
    a = np.asarray(img)
    return np.repeat(np.repeat(a, f, axis=0), f, axis=1) if f > 1 else a


def tile_scale(side: int, target: int = 56, most: int = 16) -> int:
    """Integer zoom so that a ``side``-pixel tile shows about ``target`` pixels wide (1..``most``)."""
    return int(np.clip(round(target / max(1, int(side))), 1, most))


#: colours of a mosaic's gaps and of the two ends of the diverging scale (RGB)
GAP_RGB = (226, 232, 240)
NEGATIVE_RGB = (37, 99, 235)
POSITIVE_RGB = (220, 38, 38)


def diverging_rgb(img: np.ndarray, limit: float, gap: tuple[int, int, int] = GAP_RGB) -> np.ndarray:
    """(h, w) values → (h, w, 3) uint8: blue at -``limit`` and below, white at 0, red at +``limit``
    and above; NaN (a mosaic's gaps) in ``gap``."""
    v = np.asarray(img, dtype=np.float64)
    t = np.clip(np.nan_to_num(v / (limit if limit > 0 else 1.0)), -1.0, 1.0)[..., None]
    white = np.full(3, 255.0)
    pos, neg = np.asarray(POSITIVE_RGB, float), np.asarray(NEGATIVE_RGB, float)
    rgb = np.where(t >= 0, white + t * (pos - white), white - t * (neg - white))
    rgb[~np.isfinite(v)] = gap
    return np.rint(rgb).astype(np.uint8)


def grey_rgb(img01: np.ndarray, gap: tuple[int, int, int] = GAP_RGB) -> np.ndarray:
    """(h, w) values in 0..1 → (h, w, 3) uint8 grey levels (0 black, 1 white); NaN in ``gap``."""
    v = np.asarray(img01, dtype=np.float64)
    g = np.rint(np.clip(np.nan_to_num(v), 0.0, 1.0) * 255.0)
    rgb = np.repeat(g[..., None], 3, axis=-1)
    rgb[~np.isfinite(v)] = gap
    return rgb.astype(np.uint8)


def maps_image(maps: np.ndarray, max_maps: int = 64, max_cols: int = 8, target: int = 56,
               zoom: int | None = None) -> tuple[np.ndarray, int]:
    """One layer's feature maps (channels, h, w) as one RGB picture: the first ``max_maps`` maps,
    scaled together (:func:`scale_maps`), ``max_cols`` per row, each zoomed ``zoom`` times (default:
    to about ``target`` pixels), grey on a light gap. Returns the (H, W, 3) uint8 image and the
    number of maps shown."""
    m = scale_maps(maps)[: max(1, int(max_maps))]
    k, h, _ = m.shape
    z = tile_scale(h, target) if zoom is None else max(1, int(zoom))
    img, _ = mosaic(upscale_stack(m, z), cols=map_columns(k, max_cols), pad=2)
    return grey_rgb(img), k


#: gaps between kernel tiles: darker than GAP_RGB, so that pale tiles stay apart
KERNEL_GAP_RGB = (148, 163, 184)


def kernels_image(tiles: KernelTiles, target: int = 24, max_width: int | None = None,
                  max_height: int | None = None, limit: float | None = None) -> np.ndarray:
    """Kernel tiles as one RGB picture on a diverging scale centred on 0 (limit: the 99th
    percentile of |w| unless given), each tile zoomed to about ``target`` pixels, less when the
    picture would be wider than ``max_width`` or taller than ``max_height``."""
    lim = symmetric_limit(tiles.tiles) if limit is None else float(limit)
    k, kh, kw = tiles.tiles.shape
    rows = math.ceil(k / tiles.cols)
    zoom = tile_scale(max(kh, kw), target)
    if max_width:
        zoom = min(zoom, (int(max_width) // tiles.cols - 2) // kw)
    if max_height:
        zoom = min(zoom, (int(max_height) // rows - 2) // kh)
    zoom = max(1, zoom)
    img, _ = mosaic(upscale_stack(tiles.tiles, zoom), cols=tiles.cols, pad=2 if zoom >= 4 else 1)
    return diverging_rgb(img, lim, gap=KERNEL_GAP_RGB)


def upscale_stack(tiles: np.ndarray, factor: int) -> np.ndarray:
    """(k, h, w) → (k, h·factor, w·factor), nearest neighbour."""
    f = max(1, int(factor))
    t = np.asarray(tiles)
    return np.repeat(np.repeat(t, f, axis=1), f, axis=2) if f > 1 else t


def batch_of_one(model: Any, x: np.ndarray) -> np.ndarray:
    """One raw sample as a batch of one, shaped like the model's raw samples when it has as many values."""
    a = np.asarray(x)
    shape = tuple(model._raw_sample_shape())
    if a.size == math.prod(shape):
        return a.reshape(1, *shape)
    return a[None]


# ----------------------------------------------------------------------------------------------
# One input, layer by layer
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LayerOutput:
    name: str  # engine name, e.g. "Hidden Layer 1"
    label: str  # e.g. "Layer 2 (128→64, relu)"
    activation: str
    values: np.ndarray  # (neurons,) float64

    @property
    def scaled(self) -> np.ndarray:
        """Values divided by the layer's largest |value| (so -1..1), for a per-layer colour scale."""
        return scale_to_unit(self.values)


def layer_outputs(model: Any, x: np.ndarray) -> list[LayerOutput]:
    """Each dense layer's output for one input ``x`` (inputs,), at inference. Dropout layers (the
    identity at inference) are skipped."""
    outs = model.feedforward(batch_of_one(model, np.asarray(x, dtype=np.float64)))
    labels = dense_layer_labels(model)
    res = []
    for name, layer, out in zip(model.layer_names(), model.layers, outs):
        if _is_dense(layer):
            res.append(LayerOutput(name, labels[name], layer.activation_name, np.asarray(out[0], dtype=np.float64)))
    return res


def scale_to_unit(values: np.ndarray) -> np.ndarray:
    """``values / max|values|`` (all zeros when the values are all zero or not finite)."""
    v = np.asarray(values, dtype=np.float64)
    finite = v[np.isfinite(v)]
    m = float(np.abs(finite).max()) if finite.size else 0.0
    if not m > 0:
        return np.zeros_like(v)
    return np.where(np.isfinite(v), v / m, 0.0)


def top_units(values: np.ndarray, k: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Indices and values of the ``k`` largest values, largest first (ties: lower index first)."""
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    k = max(0, min(int(k), v.size))
    order = np.argsort(-np.nan_to_num(v, nan=-np.inf), kind="stable")[:k]
    return order, v[order]


def predict_one(model: Any, x: np.ndarray) -> tuple[int, np.ndarray]:
    """Predicted class and the output vector for one input."""
    out = np.asarray(model.predict(batch_of_one(model, np.asarray(x, dtype=np.float64))))[0]
    return int(np.argmax(out)), out


def saliency(model: Any, x: np.ndarray, class_index: int, logit: bool = True) -> np.ndarray:
    """|d score(class_index) / d x| for one input ``x`` (inputs,), as (inputs,) float64.

    The score is the class's pre-softmax output when ``logit`` (the usual choice: a confident
    softmax output is flat, so its gradient is nearly zero everywhere), else the model's output.
    Large values mark the pixels whose change would most change that score.
    """
    g = model.input_gradient(batch_of_one(model, np.asarray(x, dtype=np.float64)), int(class_index), logit=logit)
    return np.abs(np.asarray(g, dtype=np.float64)[0])


def normalize_map(a: np.ndarray) -> np.ndarray:
    """Scale a non-negative map to 0..1 by its maximum (all zeros when it is all zero)."""
    v = np.abs(np.asarray(a, dtype=np.float64))
    return scale_to_unit(v)


# ----------------------------------------------------------------------------------------------
# Statistics over epochs (model.layer_stats)
# ----------------------------------------------------------------------------------------------
STATS_COLUMNS = ["epoch", "layer", "kind", "mean", "std", "norm", "rms", "count"]


def stats_frame(layer_stats: list[dict]) -> "Any":
    """``layer_stats`` as a DataFrame: epoch, layer, kind, mean, std, norm, rms, count.

    ``rms`` is the root-mean-square value (norm / sqrt(count)): unlike the norm it does not grow
    with the layer's size, so layers can be compared with each other.
    """
    import pandas as pd

    rows = []
    for s in layer_stats or []:
        count = int(sum(s.get("hist_counts") or [])) or 0
        norm = float(s.get("norm", float("nan")))
        rows.append(
            {
                "epoch": int(s["epoch"]),
                "layer": str(s["layer"]),
                "kind": str(s["kind"]),
                "mean": float(s.get("mean", float("nan"))),
                "std": float(s.get("std", float("nan"))),
                "norm": norm,
                "rms": norm / math.sqrt(count) if count else float("nan"),
                "count": count,
            }
        )
    return pd.DataFrame(rows, columns=STATS_COLUMNS)


def pick_epochs(epochs: list[int], max_epochs: int = 6) -> list[int]:
    """At most ``max_epochs`` evenly spread epochs, always the first and the last."""
    e = sorted(set(int(v) for v in epochs))
    if len(e) <= max_epochs:
        return e
    idx = np.unique(np.linspace(0, len(e) - 1, max(2, max_epochs)).round().astype(int))
    return [e[i] for i in idx]


def histogram_lines(layer_stats: list[dict], kind: str, max_epochs: int = 6) -> dict[str, list[dict]]:
    """For each layer (in recorded order): the histograms of ``kind`` ("weights" / "gradients") at
    up to ``max_epochs`` epochs, as dicts with epoch, centers, share (counts / total)."""
    entries = [s for s in layer_stats or [] if s.get("kind") == kind]
    chosen = set(pick_epochs([s["epoch"] for s in entries], max_epochs))
    out: dict[str, list[dict]] = {}
    for s in entries:
        out.setdefault(s["layer"], [])
        if int(s["epoch"]) not in chosen:
            continue
        counts = np.asarray(s["hist_counts"], dtype=np.float64)
        edges = np.asarray(s["hist_edges"], dtype=np.float64)
        total = counts.sum()
        out[s["layer"]].append(
            {
                "epoch": int(s["epoch"]),
                "centers": (edges[:-1] + edges[1:]) / 2,
                "share": counts / total if total > 0 else counts,
            }
        )
    return out


@dataclass(frozen=True)
class GradientHealth:
    level: str  # "ok", "vanishing", "exploding", "dead"
    ratio: float  # RMS gradient of the first layer / that of the last layer (latest epoch)
    text: str


VANISHING_RATIO = 0.01
EXPLODING_RATIO = 100.0
EXPLODING_RMS = 10.0


def gradient_health(layer_stats: list[dict]) -> GradientHealth | None:
    """A one-sentence verdict on the latest epoch's gradients, or None without gradient stats.

    Compares the root-mean-square gradient of the first layer with that of the output layer:
    below 1/100 they vanish on their way back through the network, above 100x (or non-finite, or
    RMS above 10) they explode.
    """
    df = stats_frame(layer_stats)
    g = df[df["kind"] == "gradients"]
    if g.empty:
        return None
    last = g[g["epoch"] == g["epoch"].max()]
    if len(last) < 2:
        return None
    first_rms = float(last["rms"].iloc[0])
    out_rms = float(last["rms"].iloc[-1])
    if not (math.isfinite(first_rms) and math.isfinite(out_rms)) or max(first_rms, out_rms) > EXPLODING_RMS:
        return GradientHealth(
            "exploding", float("nan") if not out_rms else first_rms / out_rms,
            "Gradients are exploding: some are huge or not finite, so weight updates overshoot. "
            "Lower the learning rate.",
        )
    if first_rms == 0 and out_rms == 0:
        return GradientHealth(
            "dead", float("nan"),
            "No gradient reaches any layer: every weight's gradient is zero, so the network cannot learn "
            "any more (for example all relu units switched off after too large a step). Build a new "
            "model with a lower learning rate.",
        )
    ratio = first_rms / out_rms if out_rms > 0 else float("inf")
    if ratio < VANISHING_RATIO:
        return GradientHealth(
            "vanishing", ratio,
            f"Gradients are vanishing: the first layer's gradients are about {1 / ratio:,.0f}× smaller "
            "than the output layer's, so the first layers barely learn. relu usually fixes this.",
        )
    if ratio > EXPLODING_RATIO:
        return GradientHealth(
            "exploding", ratio,
            f"Gradients grow on their way back: the first layer's are about {ratio:,.0f}× larger than "
            "the output layer's. Lower the learning rate.",
        )
    return GradientHealth(
        "ok", ratio,
        f"Gradients look healthy: the first layer's are {_times(ratio)} the output layer's "
        "(within 100× either way), so every layer keeps learning.",
    )


def _times(ratio: float) -> str:
    if ratio >= 1:
        return f"{ratio:.1f}× the size of"
    return f"about 1/{1 / ratio:.0f} the size of" if ratio < 0.5 else f"{ratio:.2f}× the size of"

"""nncore.analysis for convolutional networks: kernels and feature maps as tiles and pictures."""
from __future__ import annotations

import numpy as np
import pytest

from nncore import FFL, NN, Conv2d, Flatten, Pool2d
from nncore import analysis as I


def _cnn(kind="max", activation="linear"):
    """1×6×6 images → Conv(2 filters 3×3 same) → Pool 2×2 → Flatten → FFL 3. Filter 0 is the identity
    kernel (centre 1), filter 1 the negated identity, so the maps are known without the engine."""
    w = np.zeros((2, 1, 3, 3))
    w[0, 0, 1, 1] = 1.0
    w[1, 0, 1, 1] = -1.0
    m = NN(seed=0, dtype="float64")
    m.add(Conv2d(input_shape=(1, 6, 6), filters=2, kernel_size=3, padding="same", activation=activation,
                 weights=w, bias=np.array([0.0, 0.5])))
    m.add(Pool2d(2, kind=kind))
    m.add(Flatten())
    m.add(FFL(neurons=3, activation="softmax"))
    m.compile_model(lr=0.1, opt="sgd", loss="cse")
    return m


def test_feature_maps_are_each_conv_and_pool_layers_output_for_one_input():
    x = np.arange(36, dtype=np.float64).reshape(1, 6, 6) / 35
    for kind, reduce in (("max", np.max), ("avg", np.mean)):
        maps = I.feature_maps(_cnn(kind), x)
        assert [(m.name, m.kind) for m in maps] == [("Conv 1", "conv"), ("Pool 1", "pool")]
        conv, pool = maps
        np.testing.assert_allclose(conv.maps[0], x[0])  # identity kernel, bias 0
        np.testing.assert_allclose(conv.maps[1], 0.5 - x[0])
        blocks = conv.maps.reshape(2, 3, 2, 3, 2)
        np.testing.assert_allclose(pool.maps, reduce(blocks, axis=(2, 4)))
        assert conv.label == "Conv 1 (2 filters 3×3, linear)" and pool.label == f"Pool 1 ({kind} 2×2)"
    # a flat sample of as many values is read as the image
    np.testing.assert_allclose(I.feature_maps(_cnn(), x.reshape(-1))[0].maps[0], x[0])


def test_kernel_tiles_one_channel_per_channel_and_averaged():
    rng = np.random.default_rng(0)
    one = rng.normal(size=(5, 1, 3, 3))
    t = I.kernel_tiles(one, cols=4)
    np.testing.assert_array_equal(t.tiles, one[:, 0])
    assert t.cols == 4 and "all 5 filters" in t.text and "one channel" in t.text

    deep = rng.normal(size=(6, 4, 2, 2))
    t = I.kernel_tiles(deep, per_channel=True)
    assert t.tiles.shape == (24, 2, 2) and t.cols == 4  # a row per filter, a column per input channel
    np.testing.assert_array_equal(t.tiles[2 * 4 + 3], deep[2, 3])
    assert "(rows)" in t.text and "all 4 input channels (columns)" in t.text
    t = I.kernel_tiles(deep, per_channel=False)
    np.testing.assert_allclose(t.tiles, deep.mean(axis=1))
    assert "mean of its 4 input-channel kernels" in t.text

    capped = I.kernel_tiles(deep, per_channel=True, max_filters=2, max_channels=3)
    assert capped.tiles.shape == (6, 2, 2) and "first 2 of 6 filters" in capped.text and "first 3 of 4" in capped.text
    with pytest.raises(ValueError, match="filters, channels, kh, kw"):
        I.kernel_tiles(np.zeros((3, 3)))


def test_scale_maps_one_scale_per_layer():
    relu = np.array([[[0.0, 1.0]], [[2.0, 4.0]]])
    np.testing.assert_allclose(I.scale_maps(relu), relu / 4)  # 0 stays black, the layer's max is white
    signed = np.array([[[-2.0, 0.0]], [[1.0, 2.0]]])
    np.testing.assert_allclose(I.scale_maps(signed), (signed + 2) / 4)
    np.testing.assert_array_equal(I.scale_maps(np.zeros((2, 3, 3))), 0)
    np.testing.assert_array_equal(I.scale_maps(np.array([[[np.nan, 2.0]]])), [[[0.0, 1.0]]])


def test_maps_image_tiles_maps_into_one_grey_picture():
    maps = np.zeros((10, 4, 4))
    maps[3, 1, 2] = 5.0  # one bright pixel in map 3
    img, shown = I.maps_image(maps, max_cols=4, zoom=3)
    assert shown == 10 and img.dtype == np.uint8
    # 3 rows of 4 tiles of 12 px with 2 px gaps
    assert img.shape == (3 * 12 + 2 * 2, 4 * 12 + 3 * 2, 3)
    y, x = 0 * 14 + 1 * 3, 3 * 14 + 2 * 3  # tile (row 0, col 3), pixel (1, 2) zoomed 3×
    np.testing.assert_array_equal(img[y : y + 3, x : x + 3], 255)
    assert (img[:12, :12] == 0).all()  # map 0 is black
    np.testing.assert_array_equal(img[0, 12], I.GAP_RGB)  # the gap between tiles
    np.testing.assert_array_equal(img[-1, -1], I.GAP_RGB)  # the unused cells of the last row
    assert I.maps_image(maps, max_maps=4)[1] == 4
    assert I.tile_scale(28) == 2 and I.tile_scale(7) == 8 and I.tile_scale(1) == 16


def test_diverging_colours_and_kernels_image():
    rgb = I.diverging_rgb(np.array([[-2.0, -1.0, 0.0, 1.0, 5.0, np.nan]]), limit=1.0)
    assert tuple(rgb[0, 0]) == I.NEGATIVE_RGB == tuple(rgb[0, 1])  # clipped at -limit
    assert tuple(rgb[0, 2]) == (255, 255, 255)
    assert tuple(rgb[0, 3]) == I.POSITIVE_RGB == tuple(rgb[0, 4])
    assert tuple(rgb[0, 5]) == I.GAP_RGB
    half = I.diverging_rgb(np.array([[0.5]]), limit=1.0)[0, 0]
    assert 255 > half[1] > I.POSITIVE_RGB[1]  # halfway between white and red

    w = np.zeros((8, 1, 3, 3))
    w[:, 0, 1, 1] = 1.0
    tiles = I.kernel_tiles(w)
    img = I.kernels_image(tiles, target=30)
    assert img.shape[1] == 8 * 30 + 7 * 2 and img.shape[0] == 30  # zoom 10, one row of 8
    assert tuple(img[15, 15]) == I.POSITIVE_RGB and tuple(img[0, 0]) == (255, 255, 255)
    assert tuple(img[0, 30]) == I.KERNEL_GAP_RGB  # the gap between tiles 0 and 1
    assert I.kernels_image(tiles, target=30, max_width=100).shape[1] <= 100
    tall = I.kernel_tiles(np.ones((32, 16, 3, 3)))  # 32 rows of 16 input channels
    assert I.kernels_image(tall, target=40, max_width=720, max_height=560).shape[0] <= 560


def test_predict_and_saliency_work_on_a_cnn_with_a_flat_or_image_sample():
    m = _cnn(activation="relu")
    x = np.random.default_rng(1).random((6, 6))
    pred, probs = I.predict_one(m, x)
    np.testing.assert_allclose(probs, m.predict(x.reshape(1, 1, 6, 6))[0])
    assert I.saliency(m, x.reshape(-1), pred).shape == (1, 6, 6)
    assert I.has_conv(m) and [n for n, _ in I.conv_layers(m)] == ["Conv 1"]
    assert [o.name for o in I.layer_outputs(m, x)] == ["Output"]  # dense layers only

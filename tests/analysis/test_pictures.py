import torch

from ganparts.analysis import pictures as viz
from ganparts.blocks.attention import AttentionMap, SelfAttention2d


def test_grid_png(tmp_path):
    path = viz.save_grid(torch.rand(10, 1, 28, 28) * 2 - 1, tmp_path / "g.png")
    from PIL import Image

    width, height = Image.open(path).size
    assert (width, height) == (3 * 30 + 2, 4 * 30 + 2)  # 3 per row (round(√10)), 2-pixel padding


def test_query_map_points_at_the_attended_pixel():
    n = 14 * 14
    attn = torch.zeros(1, 1, n, n)
    query = 3 * 14 + 5  # feature row 3, column 5 ↔ image pixel (x=10, y=6)
    attn[0, 0, query, 13 * 14 + 0] = 1.0  # attends to feature row 13, column 0
    m = viz.query_map(AttentionMap(attn, (14, 14)), (10, 6), 28)
    assert m.shape == (1, 28, 28) and m.sum() == 4  # one key → a 2×2 image patch
    assert m[0, 26:28, 0:2].sum() == 4


def test_attention_figure_and_curves(tmp_path):
    from torch import nn

    net = nn.Sequential(nn.Conv2d(1, 8, 1), SelfAttention2d(channels=8), nn.Conv2d(8, 1, 1), nn.Tanh())
    images, maps = viz.attention_maps(net, torch.randn(2, 1, 28, 28))
    assert list(maps) == ["1"] and maps["1"].map.shape == (2, 1, 784, 784)
    assert viz.save_attention_figure(images, maps, tmp_path / "a.png").stat().st_size > 0
    rows = [{"step": i, "d_loss": 1.0 / i, "g_loss": float(i), "gamma/G.attn": 0.01 * i} for i in range(1, 40)]
    assert viz.save_curves(rows, tmp_path / "c.png").stat().st_size > 0


def test_png_bytes_of_a_grid():
    import io

    from PIL import Image

    grid = viz.grid_image(torch.rand(4, 1, 28, 28) * 2 - 1)
    picture = Image.open(io.BytesIO(viz.png_bytes(grid)))
    assert picture.size == (2 * 30 + 2, 2 * 30 + 2) and picture.mode == "RGB"


def test_attention_overlay_brightens_where_attention_is():
    image = torch.zeros(28, 28)
    attention = torch.zeros(28, 28)
    attention[3, 4] = 0.01  # scaled to its own maximum: a faint map shows as clearly as a strong one
    picture = viz.attention_overlay(image, attention)
    assert picture.shape == (28, 28, 3)
    brightest = picture.sum(-1).flatten().argmax()
    assert divmod(brightest.item(), 28) == (3, 4)

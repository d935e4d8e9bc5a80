"""Showing pictures and curves: crisp upscaled digits, a clickable image, metric charts."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import altair as alt
import pandas as pd
import streamlit as st
import torch
from PIL import Image

from ganparts.runs.listing import curves

QUERY_MARKER = "#00e5ff"  # cyan stands out on grey digits and on the inferno colour map


def show_picture(picture: torch.Tensor | str | Path, *, width: int, caption: str | None = None) -> None:
    """An (H, W[, 3]) tensor in [0, 1] or a PNG file, scaled up to about ``width`` pixels with
    hard pixel edges (a browser would blur a 28-pixel digit)."""
    if isinstance(picture, torch.Tensor):
        array = picture.detach().float().clamp(0, 1).mul(255).round().to(torch.uint8).cpu().numpy()
        image = Image.fromarray(array)
    else:
        image = Image.open(picture).convert("RGB")
    factor = max(1, round(width / image.width))
    st.image(image.resize((image.width * factor, image.height * factor), Image.NEAREST), caption=caption)


def clickable_picture(picture: torch.Tensor, query: tuple[int, int], *, key: str, on_click: Callable[[], None],
                      width: int = 336) -> None:
    """An (H, W, 3) picture drawn pixel by pixel as a chart: a click on a pixel calls ``on_click``,
    which finds ``{"x": …, "y": …}`` in ``st.session_state[key].selection["pixel"]``."""
    height, side = picture.shape[:2]
    rgb = picture.detach().float().clamp(0, 1).mul(255).round().to(torch.int64).reshape(-1, 3).tolist()
    ys, xs = torch.meshgrid(torch.arange(height), torch.arange(side), indexing="ij")
    pixels = pd.DataFrame({"x": xs.flatten().tolist(), "y": ys.flatten().tolist(),
                           "colour": ["#%02x%02x%02x" % tuple(c) for c in rgb]})
    pick = alt.selection_point(name="pixel", fields=["x", "y"], on="click", empty=False)
    axis_x = alt.X("x:O", axis=None, scale=alt.Scale(paddingInner=0, paddingOuter=0))
    axis_y = alt.Y("y:O", axis=None, scale=alt.Scale(paddingInner=0, paddingOuter=0))
    image = alt.Chart(pixels).mark_rect().encode(
        x=axis_x, y=axis_y, color=alt.Color("colour:N", scale=None), tooltip=["x", "y"]
    ).add_params(pick)
    marker = alt.Chart(pd.DataFrame({"x": [query[0]], "y": [query[1]]})).mark_point(
        shape="circle", size=width // 2, filled=False, color=QUERY_MARKER, strokeWidth=3
    ).encode(x=axis_x, y=axis_y)
    chart = (image + marker).properties(
        width=width, height=round(width * height / side), padding=0, autosize=alt.AutoSizeParams(type="none")
    ).configure_view(strokeWidth=0)
    st.altair_chart(chart, key=key, on_select=on_click, selection_mode="pixel", theme=None, width="content")


def metric_chart(rows: list[dict], keys: list[str], *, title: str, names: Callable[[str], str] = str) -> None:
    """A line chart of ``keys`` over steps (smoothed, thinned), or nothing when no row has them."""
    keys = [k for k in keys if any(k in row for row in rows[-1:])]
    if not keys:
        return
    data = pd.DataFrame(curves(rows, keys)).rename(columns={k: names(k) for k in keys})
    st.caption(title)
    st.line_chart(data, x="step", y=[names(k) for k in keys], height=220)

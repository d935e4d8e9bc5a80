"""Attention: click a pixel and see where it attends, per layer and head; gamma over training."""

import streamlit as st

from appkit import common
from appkit.pictures import clickable_picture, metric_chart, show_picture
from ganparts.analysis.probe import probe_attention
from ganparts.runs.layout import RunDir
from ganparts.runs.listing import checkpoint_steps

NETWORKS = {"G": "generator (on the digit it draws)", "D": "discriminator (on the digit it judges)"}
X, Y, CLICK = "attn.x", "attn.y", "attn.click"


def pixel_clicked() -> None:
    """Move the query to the clicked pixel (runs before the page, so the sliders follow)."""
    points = st.session_state[CLICK].selection.get("pixel") or []
    if points:
        st.session_state[X], st.session_state[Y] = int(points[0]["x"]), int(points[0]["y"])


st.title("Attention")
st.write(
    "Self-attention lets every pixel look at the whole image. **Click a pixel** (or move the sliders): "
    "the colours show where that pixel attends — bright is strong."
)
run = common.pick_run(key="attn.run", trained_only=True)
if run is not None:
    checkpoint = checkpoint_steps(run.path)
    step = max(checkpoint)
    gan = common.load_gan(str(checkpoint[step]))
    controls, picture, layers_col = st.columns([1, 1.3, 1.2], gap="medium")
    with controls:
        network = st.radio("Network", list(NETWORKS), format_func=NETWORKS.get, key="attn.network")
        image, label = None, None
        if network == "D" and st.radio("Image", ["real", "generated"], horizontal=True, key="attn.image",
                                       format_func={"real": "a real digit", "generated": "a generated digit"}.get) == "real":
            digits = common.real_digits(str(checkpoint[step]))
            index = st.number_input(f"Real digit (0–{len(digits) - 1}, held out from training)", 0, len(digits) - 1, 0,
                                    key="attn.digit")
            image = digits.to_float()[0][index]
            seed = 0
            if gan.num_classes:  # a class-conditional D judges the digit as its own class
                label = int(digits.labels[index])
                st.caption(f"D judges it as a {label}, its own class")
        else:
            seed = st.number_input("Seed of the generated digit", min_value=0, value=0, key="attn.seed")
            if gan.num_classes:
                label = st.selectbox("Digit to draw", range(gan.num_classes), key="attn.class",
                                     help="this run is class-conditional: G draws the digit it is asked for")
        probe = probe_attention(gan, network, seed=seed, image=image, label=label)
    if not probe.layers:
        controls.warning(f"The {NETWORKS[network].split()[0]} of {run.name} has no attention layers: "
                         "build one with attention on the Build page.", icon=":material/info:")
    else:
        side = probe.side
        st.session_state.setdefault(X, side // 2)
        st.session_state.setdefault(Y, side // 3)
        with controls:
            layer = st.selectbox("Layer", list(probe.layers), key="attn.layer",
                                 help="named after the feature-map size it works at (attn14: 14×14)")
            heads = probe.heads(layer)
            head = st.selectbox("Head", range(-1, heads), key="attn.head", disabled=heads == 1,
                                format_func=lambda h: "mean of all heads" if h < 0 else f"head {h}")
            head = None if head < 0 else head
            x = st.slider("Query x", 0, side - 1, key=X)
            y = st.slider("Query y", 0, side - 1, key=Y)
        with picture:
            st.caption(f"{layer}: where pixel ({x}, {y}) attends · step {step:,}")
            clickable_picture(probe.overlay(layer, (x, y), head=head), (x, y), key=CLICK, on_click=pixel_clicked)
        with layers_col:
            st.caption("The same pixel in every layer")
            for name in probe.layers:
                show_picture(probe.overlay(name, (x, y)), width=140, caption=name)
            show_picture(probe.image, width=140, caption="the image")
    rows = RunDir(run.path).read_metrics()
    gammas = sorted(k for k in (rows[-1] if rows else {}) if k.startswith(f"gamma/{network}."))
    metric_chart(rows, gammas, title=f"Gamma of each {network} attention layer over training: the weight of "
                 "attention in x + γ·attention(x) (it starts at 0)", names=lambda k: k.removeprefix("gamma/"))

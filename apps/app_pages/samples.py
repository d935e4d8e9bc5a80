"""Samples: a grid from any checkpoint for a chosen seed (and digit, for a class-conditional run),
and a walk between two seeds."""

import streamlit as st

from appkit import common
from appkit.pictures import show_picture
from ganparts.analysis.inference import generate, interpolate
from ganparts.runs.listing import checkpoint_steps
from ganparts.analysis.pictures import grid_image, png_bytes

ALL = "all"

st.title("Samples")
st.write("Digits from a trained run's EMA generator. The same seed always gives the same digits.")
run = common.pick_run(key="samples.run", trained_only=True)
if run is not None:
    checkpoints = checkpoint_steps(run.path)
    step = st.selectbox("Checkpoint", list(checkpoints), index=len(checkpoints) - 1, key="samples.step",
                        format_func=lambda s: f"step {s:,}")
    gan = common.load_gan(str(checkpoints[step]))
    label = None  # an unconditional run draws whatever digit it likes
    if gan.num_classes:
        label = st.selectbox("Digit", [ALL, *range(gan.num_classes)], key="samples.class",
                             format_func=lambda c: "every digit in turn" if c == ALL else str(c),
                             help="this run is class-conditional: it draws the digit it is asked for")
    grid_tab, walk_tab = st.tabs(["Grid", "Interpolation"])
    with grid_tab:
        seed_col, n_col = st.columns(2)
        seed = seed_col.number_input("Seed", min_value=0, value=0, key="samples.seed")
        n = n_col.slider("Digits", 1, 100, 64, key="samples.n")
        every = label == ALL  # one column per digit
        images = generate(gan.generator, n, seed=seed, labels=None if every else label)
        grid = grid_image(images, nrow=min(gan.num_classes, n) if every else None)
        which = "" if label is None else (", every digit in turn" if every else f", digit {label}")
        show_picture(grid, width=480, caption=f"{n} digits, seed {seed}, step {step:,}{which}")
        st.download_button("Download PNG", png_bytes(grid), file_name=f"{run.name}_step{step}_seed{seed}.png",
                           mime="image/png", icon=":material/download:", key="samples.download")
    with walk_tab:
        a_col, b_col, k_col = st.columns(3)
        seed_a = a_col.number_input("From seed", min_value=0, value=0, key="samples.seed_a")
        seed_b = b_col.number_input("To seed", min_value=0, value=1, key="samples.seed_b")
        frames = k_col.slider("Frames", 3, 16, 10, key="samples.frames")
        walk = grid_image(interpolate(gan.generator, seed_a, seed_b, frames, label=None if label in (None, ALL) else label), nrow=frames)
        show_picture(walk, width=720, caption=f"Spherical interpolation in latent space from seed {seed_a} to seed {seed_b}")
        st.download_button("Download PNG", png_bytes(walk), file_name=f"{run.name}_step{step}_{seed_a}-{seed_b}.png",
                           mime="image/png", icon=":material/download:", key="samples.walk_download")

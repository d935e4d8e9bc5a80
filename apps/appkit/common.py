"""Pieces every page shares: the runs folder, run pickers, cached loads, the sidebar."""

from __future__ import annotations

from pathlib import Path

import streamlit as st
from PIL import Image, ImageDraw

from ganparts.data.images import ImageSet
from ganparts.analysis.inference import TrainedGAN, load_trained
from ganparts.plugins import default_registry, plugin_reports
from ganparts.analysis.probe import held_out_digits
from ganparts.spec.registry import Registry
from ganparts.runs.listing import RunInfo, default_runs_root, list_runs

PROJECT_ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_SPECS = PROJECT_ROOT / "specs"
CURRENT_RUN = "current_run"  # session key: the run the user last picked, pre-selected on every page
BUILT_SPEC = "build.spec"  # session key: the last valid spec made on the Build page (plain data)
TRAIN_SOURCE = "train.source"  # session key: where the Train page takes its spec from


@st.cache_resource
def app_icon() -> Image.Image:
    """Four parts in a square, drawn here: a page icon Streamlit does not fetch from the internet."""
    icon = Image.new("RGBA", (32, 32))
    draw = ImageDraw.Draw(icon)
    for (x, y), colour in zip([(2, 2), (17, 2), (2, 17), (17, 17)], ["#ff4b4b", "#0a84ff", "#34c759", "#ffcc00"]):
        draw.rounded_rectangle((x, y, x + 13, y + 13), radius=3, fill=colour)
    return icon


def registry() -> Registry:
    return default_registry()


def runs_root() -> Path:
    """Where runs live: ``ganparts app --runs DIR`` passes it in ``$GANPARTS_RUNS``."""
    return default_runs_root()


def example_specs() -> dict[str, Path]:
    """The spec files shipped in ``specs/``, by file name."""
    return {p.name: p for p in sorted(EXAMPLE_SPECS.glob("*.yaml"))}


def pick_run(*, key: str, label: str = "Run", runs: list[RunInfo] | None = None, trained_only: bool = False) -> RunInfo | None:
    """A run selector pre-set to the run picked last on any page; None (with a hint) if there is none."""
    runs = list_runs(runs_root()) if runs is None else runs
    if trained_only:
        runs = [r for r in runs if r.checkpoints]
    if not runs:
        st.info(
            f"No {'trained ' if trained_only else ''}runs in `{runs_root()}` yet. "
            "Start one on the **Train** page (it takes a minute with the example SAGAN)."
        )
        st.page_link("app_pages/train.py", label="Go to Train", icon=":material/model_training:")
        return None
    names = [r.name for r in runs]
    current = st.session_state.get(CURRENT_RUN)
    # Names only: an option's text must not change while the run trains, or the browser
    # would keep showing the old text.
    name = st.selectbox(label, names, index=names.index(current) if current in names else 0, key=key)
    st.session_state[CURRENT_RUN] = name
    return runs[names.index(name)]


@st.cache_resource(max_entries=4, show_spinner="Loading the run's networks…")
def load_gan(checkpoint: str) -> TrainedGAN:
    """A checkpoint's networks, shared read-only by every session (checkpoint folders never change)."""
    return load_trained(checkpoint, registry=registry())


@st.cache_resource(show_spinner="Loading real digits…")
def real_digits(checkpoint: str) -> ImageSet:
    """Held-out real digits of a run's data source (shared, read-only)."""
    return held_out_digits(load_gan(checkpoint))


def sidebar() -> None:
    """The runs folder and the plugins that loaded, on every page."""
    with st.sidebar:
        st.caption(f"Runs folder: `{runs_root()}`")
        reports = plugin_reports()
        failed = [r.name for r in reports if r.failed]
        st.caption(f"{len(reports) - len(failed)} plugins loaded; their blocks appear in the Build page's pickers")
        if failed:
            st.error(f"Plugins that failed to load: {', '.join(failed)} (see Plugins)", icon=":material/error:")

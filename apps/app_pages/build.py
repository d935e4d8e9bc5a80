"""Build: compose a GAN from registered blocks; live spec YAML, validation, parameter counts."""

import streamlit as st
import torch
import yaml

from appkit import common
from appkit.common import BUILT_SPEC, TRAIN_SOURCE
from appkit.spec_form import SpecForm, reset_form
from ganparts.analysis.summary import network_tables
from ganparts.errors import SpecError, UserError
from ganparts.spec.experiment import DataSpec, Experiment, ModelSpec
from ganparts.spec.files import dump_spec, load_spec, parse_spec_bytes, spec_to_data, validate_spec
from ganparts.training.preflight import preflight

BASE, UPLOAD, UPLOAD_ERRORS = "build.base", "build.upload", "build.upload_errors"
DEFAULT_EXAMPLE = "sagan_mnist.yaml"


def start_from_example() -> None:
    st.session_state[BASE] = spec_to_data(load_spec(common.example_specs()[st.session_state["build.example"]], registry=common.registry()))
    st.session_state.pop(UPLOAD_ERRORS, None)
    reset_form()


def start_from_upload() -> None:
    upload = st.session_state[UPLOAD]
    if upload is None:
        return
    try:
        data = parse_spec_bytes(upload.getvalue(), where=upload.name, json_only=upload.name.lower().endswith(".json"))
        spec = validate_spec(data, common.registry())
    except SpecError as err:
        st.session_state[UPLOAD_ERRORS] = err.problems
        return
    st.session_state.pop(UPLOAD_ERRORS, None)
    st.session_state[BASE] = spec_to_data(spec)
    reset_form()


examples = common.example_specs()
if BASE not in st.session_state:
    st.session_state[BASE] = spec_to_data(load_spec(examples[DEFAULT_EXAMPLE], registry=common.registry()))
base = st.session_state[BASE]

st.title("Build a GAN")
st.write(
    "Pick the parts: a generator and a discriminator family, where self-attention goes, spectral norm, "
    "the loss, the optimiser and the schedule. The spec on the right follows every change; "
    "train it on the **Train** page."
)
start, upload = st.columns(2)
start.selectbox("Start from an example", list(examples), index=list(examples).index(DEFAULT_EXAMPLE),
                key="build.example", on_change=start_from_example,
                help="sagan: self-attention at 14×14 in both networks; dcgan: the same without attention (the baseline)")
upload.file_uploader("…or upload a spec (YAML or JSON, at most 1 MiB)", type=["yaml", "yml", "json"], key=UPLOAD,
                     on_change=start_from_upload)
for path, message in st.session_state.get(UPLOAD_ERRORS, []):
    upload.error(f"`{path}`: {message}" if path else message, icon=":material/error:")

registry = common.registry()
form = SpecForm(registry)
settings, preview = st.columns([3, 2], gap="large")
with settings:
    st.subheader("Networks")
    model = base.get("model", {})
    z_dim = form.fields(ModelSpec, model, "model", only=("z_dim",))
    gen_col, disc_col = st.columns(2)
    with gen_col:
        generator = form.fields(ModelSpec, model, "model", only=("generator",))
    with disc_col:
        discriminator = form.fields(ModelSpec, model, "model", only=("discriminator",))
    loss_col, optim_col = st.columns(2)
    with loss_col:
        st.subheader("Loss")
        loss = form.fields(Experiment, base, "", only=("loss", "penalties"))
    with optim_col:
        st.subheader("Optimiser")
        optim = form.fields(Experiment, base, "", only=("optim",))
    schedule_col, data_col = st.columns(2)
    with schedule_col:
        st.subheader("Schedule")
        schedule = form.fields(Experiment, base, "", only=("train",))
    with data_col:
        st.subheader("Data and name")
        named = form.fields(Experiment, base, "", only=("name", "seed"))
        data = form.fields(DataSpec, base.get("data", {}), "data", only=("source", "batch_size"))

spec_data = {**named, "data": {**base.get("data", {}), **data}, "model": z_dim | generator | discriminator,
             **loss, **optim, **schedule}

with preview:
    st.subheader("Spec")
    try:
        spec = validate_spec(spec_data, common.registry())
        preflight(spec, registry=common.registry(), device=torch.device("cpu"))  # what `train` decides
        tables = network_tables(spec, registry=common.registry())
    except SpecError as err:
        spec = None
        for path, message in form.show_errors(err.problems):
            st.error(f"`{path}`: {message}" if path else message, icon=":material/error:")
        st.error(f"{len(err.problems)} problem(s): see the marked fields.", icon=":material/error:")
    except UserError as err:  # e.g. more memory than this machine has
        spec = None
        st.error(str(err), icon=":material/error:")
    except Exception as err:  # noqa: BLE001 — a plugin's builder can fail in ways no spec check foresees
        spec = None
        st.error(f"The spec validates, but building its networks failed: {type(err).__name__}: {err}", icon=":material/error:")
    if spec is not None:
        st.session_state[BUILT_SPEC] = spec_to_data(spec)
        st.success(f"Valid: **{spec.name}**", icon=":material/check_circle:")
        counts = st.columns(2)
        for column, (network, rows) in zip(counts, tables.items()):
            column.metric(f"{network.title()} parameters", f"{sum(r['params'] for r in rows):,}")
        with st.expander("Layers"):
            for network, rows in tables.items():
                st.caption(network)
                st.dataframe(
                    [{**row, "output": "×".join(map(str, row["output"]))} for row in rows], hide_index=True
                )
        text = dump_spec(spec)
        st.code(text, language="yaml")
        buttons = st.columns(2)
        buttons[0].download_button("Download spec", text, file_name=f"{spec.name}.yaml", mime="application/x-yaml",
                                   icon=":material/download:", key="build.download")
        if buttons[1].button("Train this spec", icon=":material/model_training:", type="primary", key="build.train"):
            st.session_state[TRAIN_SOURCE] = "build"
            st.switch_page("app_pages/train.py")
    else:
        st.code(yaml.safe_dump(spec_data, sort_keys=False), language="yaml")

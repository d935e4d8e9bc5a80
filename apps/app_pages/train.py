"""Train: start a run in the background, watch its progress and samples, stop it, resume it."""

import datetime
import hashlib
import json

import streamlit as st
import torch

from appkit import common
from appkit.common import BUILT_SPEC, CURRENT_RUN, TRAIN_SOURCE
from appkit.pictures import metric_chart, show_picture
from ganparts.errors import SpecError, UserError
from ganparts.runs import jobs
from ganparts.runs.layout import RunDir
from ganparts.runs.listing import checkpoint_steps, list_runs, new_run_path, run_path, step_of, suggest_run_name
from ganparts.spec.files import load_spec, parse_spec_bytes, spec_to_data, validate_spec
from ganparts.training.preflight import preflight

SOURCES = {"example": "an example", "build": "the Build page", "upload": "a file"}
REFRESH_S = 2.0
STARTED = "train.started"  # session key: runs started in this session, part of the form's widget keys


def chosen_spec():
    """The spec the user picked (plain data), or None after explaining what is missing."""
    source = st.radio("Spec from", list(SOURCES), format_func=SOURCES.get, horizontal=True, key=TRAIN_SOURCE)
    if source == "example":
        examples = common.example_specs()
        name = st.selectbox("Example spec", list(examples), key="train.example",
                            help="sagan_mnist: SAGAN (attention at 14×14); dcgan_mnist: the same without attention")
        return spec_to_data(load_spec(examples[name], registry=common.registry()))
    if source == "build":
        if BUILT_SPEC not in st.session_state:
            st.info("Nothing built yet: compose a spec on the Build page first.")
            st.page_link("app_pages/build.py", label="Go to Build", icon=":material/construction:")
            return None
        return st.session_state[BUILT_SPEC]
    upload = st.file_uploader("Spec file (YAML or JSON, at most 1 MiB)", type=["yaml", "yml", "json"], key="train.upload")
    if upload is None:
        return None
    try:
        return spec_to_data(validate_spec(parse_spec_bytes(upload.getvalue(), where=upload.name,
                                                             json_only=upload.name.lower().endswith(".json")), common.registry()))
    except SpecError as err:
        st.error("\n\n".join(f"`{p}`: {m}" if p else m for p, m in err.problems), icon=":material/error:")
        return None


def start_form() -> None:
    data = chosen_spec()
    if data is None:
        return
    st.caption(_describe(data))
    # The settings below start from the chosen spec; keys that name the spec (and count the runs
    # started) give them fresh starting values when it changes, e.g. a new suggested run name.
    tag = f"{hashlib.sha1(json.dumps(data, sort_keys=True).encode()).hexdigest()[:10]}.{st.session_state.get(STARTED, 0)}"
    root = common.runs_root()
    name = st.text_input("Run name", value=suggest_run_name(root, data["name"]), key=f"train.name.{tag}", max_chars=64,
                         help="letters, digits, '.', '_' and '-'; a new name for every run")
    datasets = common.registry().list("dataset")
    source = st.selectbox("Data", datasets, index=datasets.index(data["data"]["source"]), key=f"train.data.{tag}",
                          help="mnist-5k: 5,000 digits shipped with ganparts' dependencies (offline); "
                               "mnist: the full set (downloaded); auto: full MNIST if it can be had, else mnist-5k")
    left, right = st.columns(2)
    steps = left.number_input("Steps", min_value=1, value=data["train"]["steps"], step=100, key=f"train.steps.{tag}",
                              help="generator updates; on 2 CPU cores the example SAGAN makes about 7 a second "
                                   "and draws recognisable digits within a few thousand")
    batch = right.number_input("Batch size", min_value=1, max_value=4096, value=data["data"]["batch_size"],
                               key=f"train.batch.{tag}")
    if st.button("Start training", type="primary", icon=":material/play_arrow:", key="train.start"):
        try:
            path = new_run_path(root, name)
            spec = validate_spec({**data, "data": {**data["data"], "source": source, "batch_size": batch},
                                  "train": {**data["train"], "steps": steps}}, common.registry())
            preflight(spec, registry=common.registry(), device=torch.device("cpu"))  # what `ganparts train` will decide
            jobs.start_training(path, spec)
        except UserError as err:
            st.error(str(err), icon=":material/error:")
            return
        st.session_state[CURRENT_RUN] = name
        st.session_state[STARTED] = st.session_state.get(STARTED, 0) + 1
        st.rerun()


def watch(name: str) -> None:
    path = run_path(common.runs_root(), name)
    status = jobs.job_status(path)
    every = REFRESH_S if status.active else None

    @st.fragment(run_every=every)
    def live() -> None:
        now = jobs.job_status(path)
        if now.active != status.active:
            st.rerun()  # started or ended: redraw the page (and stop or start refreshing)
        show_status(path, now)

    live()


def show_status(path, status: jobs.JobStatus) -> None:
    progress, run = status.progress, RunDir(path)
    badge = {"running": "blue", "starting": "gray", "finished": "green", "stopped": "orange", "failed": "red"}.get(status.state, "gray")
    st.markdown(f"### {path.name} :{badge}-badge[{status.state}]")
    st.progress(status.fraction, text=_progress_text(progress))
    if status.state == "failed":
        st.error(f"Training failed:\n```\n{status.message}\n```", icon=":material/error:")
    buttons = st.columns([1, 1, 2])
    if status.active:
        if buttons[0].button("Stop", icon=":material/stop:", key="train.stop", help="finish the step, save a checkpoint, stop"):
            jobs.stop_training(path)
            st.toast("Stopping: the run saves a checkpoint first.")
    elif status.state != "new":
        total = buttons[2].number_input("Train until step", min_value=1, value=max(progress.get("steps", 1), progress.get("step", 0) + 500),
                                        step=100, key="train.resume_steps")
        if buttons[0].button("Resume", icon=":material/play_arrow:", key="train.resume",
                             disabled=not checkpoint_steps(path), help="continue from the newest checkpoint"):
            try:
                jobs.start_training(path, steps=total)
            except UserError as err:
                st.error(str(err), icon=":material/error:")
            else:
                st.rerun()
    rows = run.read_metrics()
    sample = run.latest("samples")
    pictures, charts = st.columns([2, 3])
    with pictures:
        if sample is not None:
            show_picture(sample, width=320, caption=f"Samples at step {step_of(sample):,} (EMA generator, fixed noise)")
        else:
            st.caption("The first sample grid appears at the first sampling step or at the end.")
    with charts:
        metric_chart(rows, ["d_loss", "g_loss"], title="Losses")
        gammas = sorted(k for k in (rows[-1] if rows else {}) if k.startswith("gamma/"))
        metric_chart(rows, gammas, title="Attention gamma (0 at the start: how much each layer uses attention)",
                     names=lambda k: k.removeprefix("gamma/"))
    with st.expander("Log"):
        log = path / jobs.LOG_FILE
        st.code(log.read_text(encoding="utf-8", errors="replace")[-4000:] if log.exists() else "(no log: trained outside the app)")


def _progress_text(progress: dict) -> str:
    if not progress:
        return "starting (loading data and building the networks)…"
    text = f"step {progress['step']:,} of {progress['steps']:,}"
    if progress.get("steps_per_s"):
        text += f" · {progress['steps_per_s']:.1f} steps/s"
    if progress.get("state") == "running" and progress.get("eta_s") is not None:
        text += f" · about {datetime.timedelta(seconds=round(progress['eta_s']))} left"
    return text


def _describe(data: dict) -> str:
    model = data["model"]
    parts = []
    for network in ("generator", "discriminator"):
        net = model[network]
        attention = ", ".join(f"{a['kind']} at {a['resolution']}×{a['resolution']}" for a in net.get("attention", [])) or "no attention"
        parts.append(f"{network} {net['kind']} (width {net['width']}, {attention})" if "width" in net else f"{network} {net['kind']} ({attention})")
    return f"**{data['name']}**: " + "; ".join(parts) + f"; loss {data['loss']['kind']}"


st.title("Train")
st.write("Training runs in the background on this machine: leave this page, reload, or look at other pages meanwhile.")
new_col, watch_col = st.columns([2, 3], gap="large")
with new_col:
    st.subheader("New run")
    start_form()
with watch_col:
    st.subheader("Runs")
    if not list_runs(common.runs_root()):
        st.caption("No runs yet.")
    else:
        run = common.pick_run(key="train.run", label="Watch run")
        if run is not None:
            watch(run.name)

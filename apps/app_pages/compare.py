"""Compare: runs side by side — what differs in their specs, evaluation results, curves, samples."""

import pandas as pd
import streamlit as st

from appkit import common
from appkit.pictures import metric_chart, show_picture
from ganparts.runs.layout import RunDir
from ganparts.runs.listing import curves, list_runs, read_evaluation, spec_differences, step_of
from ganparts.spec.files import read_spec_data

st.title("Compare runs")
runs = {r.name: r for r in list_runs(common.runs_root())}
if len(runs) < 2:
    st.info("Comparing needs at least two runs; start them on the Train page (e.g. sagan_mnist and dcgan_mnist).")
    st.page_link("app_pages/train.py", label="Go to Train", icon=":material/model_training:")
chosen = st.multiselect("Runs", list(runs), default=list(runs)[:3], key="compare.runs")
if chosen:
    metrics = {name: RunDir(runs[name].path).read_metrics() for name in chosen}
    st.subheader("Results")
    table = []
    for name in chosen:
        rows, info = metrics[name], runs[name]
        step_times = sorted(r["step_time"] for r in rows if "step_time" in r)
        table.append({
            "run": name, "state": info.state, "step": info.step,
            "s/step (median)": step_times[len(step_times) // 2] if step_times else None,
            **read_evaluation(info.path),
        })
    st.dataframe(pd.DataFrame(table), hide_index=True)
    st.caption("FID, KID, IS, precision and recall appear once a run has been evaluated (`ganparts eval RUN`); "
               "`fid floor` is held-out real digits against the training digits, the best a model can hope for.")

    st.subheader("Spec differences")
    differences = spec_differences({name: read_spec_data(runs[name].path / "spec.yaml") for name in chosen})
    if differences:
        st.dataframe(pd.DataFrame(differences).T.astype(str), width="stretch")
    else:
        st.caption("The specs are identical.")

    st.subheader("Curves")
    left, right = st.columns(2)
    for column, key, title in ((left, "d_loss", "D loss"), (right, "g_loss", "G loss")):
        with column:
            frames = [pd.DataFrame(curves(metrics[name], [key])).rename(columns={key: name}).set_index("step") for name in chosen]
            st.caption(f"{title} (moving average)")
            st.line_chart(pd.concat(frames, axis=1).sort_index(), height=240)
    evaluations = {name: RunDir(runs[name].path).read_evaluations() for name in chosen}
    if any(evaluations.values()):
        frames = [pd.DataFrame(rows)[["step", "fid"]].rename(columns={"fid": name}).set_index("step")
                  for name, rows in evaluations.items() if rows]
        st.caption("FID during training (`train.eval_every`; lower is better)")
        st.line_chart(pd.concat(frames, axis=1).sort_index(), height=240)
    for name in chosen:
        gammas = sorted(k for k in (metrics[name][-1] if metrics[name] else {}) if k.startswith("gamma/"))
        if gammas:
            metric_chart(metrics[name], gammas, title=f"{name}: attention gamma", names=lambda k: k.removeprefix("gamma/"))

    st.subheader("Latest samples")
    for column, name in zip(st.columns(len(chosen)), chosen):
        with column:
            sample = RunDir(runs[name].path).latest("samples")
            if sample is None:
                st.caption(f"{name}: no samples yet")
            else:
                show_picture(sample, width=300, caption=f"{name}, step {step_of(sample):,}")

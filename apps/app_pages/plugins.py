"""Plugins: every plugin ganparts loaded (built-ins included), its blocks, and any that failed."""

import pandas as pd
import streamlit as st

from ganparts.plugins import DISABLE_AUTOLOAD_ENV, autoload_enabled, plugin_reports

st.title("Plugins")
st.write(
    "Every block comes from a plugin; ganparts' own built-ins take the same door as installed packages "
    "(`[project.entry-points.ganparts]`). A plugin's blocks appear in the Build page's pickers and validate "
    "in spec files exactly like built-in ones. A plugin that fails to load is skipped and shown here."
)
reports = plugin_reports()
failed = [r for r in reports if r.failed]
st.caption(f"{len(reports) - len(failed)} loaded, {len(failed)} failed")
if not autoload_enabled():
    st.warning(f"Installed plugins were not loaded: {DISABLE_AUTOLOAD_ENV} is set.", icon=":material/info:")
st.dataframe(
    pd.DataFrame([{
        "plugin": r.name, "distribution": r.distribution, "version": r.version, "status": r.status,
        "blocks": "; ".join(f"{kind}: {', '.join(names)}" for kind, names in r.blocks.items()) or r.reason,
    } for r in reports]),
    hide_index=True,
)
for report in failed:
    st.error(f"**{report.name}** ({report.distribution} {report.version}) was skipped: {report.reason}", icon=":material/error:")
for report in reports:
    for line in report.skipped:  # a name an earlier plugin took: only this block is missing
        st.warning(f"**{report.name}** ({report.distribution} {report.version}): {line}", icon=":material/warning:")
    if report.details:
        with st.expander(f"Traceback of {report.name}"):
            st.code(report.details)

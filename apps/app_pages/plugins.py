"""Plugins: which plugins loaded and the blocks each one registered."""

import pandas as pd
import streamlit as st

from appkit import common

st.title("Plugins")
st.write(
    "Every block comes from a plugin — ganparts' own built-ins take the same door as third-party packages. "
    "A block registered here appears in the Build page's pickers and validates in spec files like a built-in one."
)
by_plugin: dict[str, list] = {}
for entry in common.registry().entries():
    by_plugin.setdefault(entry.plugin, []).append(entry)
for plugin, entries in sorted(by_plugin.items()):
    kinds = ", ".join(sorted({e.kind for e in entries}))
    st.markdown(f"**{plugin}** :green-badge[loaded] · {len(entries)} block(s): {kinds}")
    st.dataframe(pd.DataFrame([{"kind": e.kind, "name": e.name, "description": e.description} for e in entries]),
                 hide_index=True)

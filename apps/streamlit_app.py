"""ganparts in the browser. ``ganparts app`` (or ``make app``) serves it on 127.0.0.1.

A router: each page is a thin module in app_pages/ calling the ganparts library;
widgets shared by pages live in appkit/.
"""

import sys
from pathlib import Path

import streamlit as st

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # pages import appkit whichever way Streamlit was started
    sys.path.insert(0, str(HERE))

from appkit import common  # noqa: E402
from ganparts.runs import threads  # noqa: E402

threads.limit(1)  # the app draws; its background trainings get the cores (ganparts/runs/threads.py)

st.set_page_config(page_title="ganparts", page_icon=common.app_icon(), layout="wide")
page = st.navigation([
    st.Page("app_pages/build.py", title="Build", icon=":material/construction:", default=True),
    st.Page("app_pages/train.py", title="Train", icon=":material/model_training:"),
    st.Page("app_pages/samples.py", title="Samples", icon=":material/grid_view:"),
    st.Page("app_pages/attention.py", title="Attention", icon=":material/center_focus_strong:"),
    st.Page("app_pages/compare.py", title="Compare", icon=":material/compare:"),
    st.Page("app_pages/plugins.py", title="Plugins", icon=":material/extension:"),
])
common.sidebar()
page.run()

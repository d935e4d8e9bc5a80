"""Streamlit pieces the app's pages share; the work itself is done by the ganparts library."""

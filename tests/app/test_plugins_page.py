"""The Plugins page lists every plugin and the blocks it registered, straight from the registry."""

from ganparts.plugins import default_registry


def test_every_registered_block_is_listed_under_its_plugin(app):
    at = app("plugins")
    listed = {(row.kind, row.name) for frame in at.dataframe for row in frame.value.itertuples()}
    assert listed == {(e.kind, e.name) for e in default_registry().entries()}
    text = "\n".join(m.value for m in at.markdown)
    assert "**ganparts.blocks.attention** :green-badge[loaded]" in text

"""The Plugins page lists every plugin (built-ins included), its blocks, and failures with their reason."""

from ganparts.plugins import plugin_reports


def test_every_plugin_is_listed_with_its_blocks(app):
    at = app("plugins")
    table = at.dataframe[0].value
    assert list(table["plugin"]) == [r.name for r in plugin_reports()]
    attention = table.set_index("plugin").loc["ganparts.blocks.attention"]
    assert (attention["status"], attention["blocks"]) == ("loaded", "attention: sagan, sagan_pooled")

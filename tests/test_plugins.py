from ganparts.plugins import BUILTIN_PLUGINS, get_plugin_manager


def test_builtins_register_through_the_hook(registry):
    pm = get_plugin_manager()
    hooked = {impl.plugin_name for impl in pm.hook.ganparts_register.get_hookimpls()}
    assert set(BUILTIN_PLUGINS) <= hooked
    assert registry.get("attention", "sagan").plugin == "ganparts.blocks.attention"
    assert registry.get("generator", "dcgan").plugin == "ganparts.models.dcgan"


def test_builtin_catalogue(registry):
    assert registry.list("attention") == ["sagan", "sagan_pooled"]
    assert registry.list("loss") == ["hinge", "lsgan", "ns", "wgan-gp"]
    assert {"mnist", "mnist-5k", "auto"} <= set(registry.list("dataset"))
    assert registry.list("penalty") == ["gp"]


def test_importing_ganparts_registers_nothing():
    # Registration happens only through the hook: a fresh registry built from modules is empty.
    from ganparts.registry import Registry

    import ganparts.blocks.attention  # noqa: F401

    assert Registry().list("attention") == []

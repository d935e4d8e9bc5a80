"""CLI sub-commands; each module offers ``add_commands(subparsers)``."""

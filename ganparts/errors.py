"""The base of errors a user can fix by changing their input (spec, paths, options)."""


class UserError(Exception):
    """Printed by the CLI as a few plain lines, with exit status 2 and no traceback."""

"""The base of errors a user can fix by changing their input (spec, paths, options)."""


class UserError(Exception):
    """Printed by the CLI as a few plain lines, with exit status 2 and no traceback."""


def first_line(err: BaseException) -> str:
    """The first line of an exception's message (its type name when it has none): the reason
    to quote inside a one-line error, without a library's multi-line detail."""
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__

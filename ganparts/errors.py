"""The base of errors a user can fix by changing their input (spec, paths, options)."""


class UserError(Exception):
    """Printed by the CLI as a few plain lines, with exit status 2 and no traceback."""


class SpecError(UserError, ValueError):
    """A spec that cannot be read or does not validate; ``problems`` are ``(path, message)`` pairs."""

    def __init__(self, problems: list[tuple[str, str]], source: str = "spec") -> None:
        self.problems = problems
        self.source = source
        super().__init__("\n".join(f"{path}: {message}" if path else message for path, message in problems))


def first_line(err: BaseException) -> str:
    """The first line of an exception's message (its type name when it has none): the reason
    to quote inside a one-line error, without a library's multi-line detail."""
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def one_line(err: BaseException, limit: int = 300) -> str:
    """``Type: message`` on one line, shortened to ``limit`` characters: how one-line reports
    (a plugin that failed to load, a block that failed to build) quote an exception."""
    text = "; ".join(line.strip() for line in str(err).splitlines() if line.strip())
    text = f"{type(err).__name__}: {text}" if text else type(err).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"

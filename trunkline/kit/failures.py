"""What a domain raises when it refuses a request: plain exceptions that know no HTTP.

Services and parsers raise these; `errors.install` answers each with the one error body
and its status, in one place (`errors.STATUS_OF`). A domain never picks a status code.
"""


class Failure(Exception):
    """A refusal with a message for the client, an optional error code and the problems
    found in the input (each `{"name": field, "reason": plain words}`)."""

    def __init__(self, message: str, *, code: str | None = None, problems: list[dict] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.problems = problems


class Malformed(Failure):
    """The input cannot be read at all (an empty body, broken JSON or CSV)."""


class UnsupportedMedia(Failure):
    """The body is of a media type this route does not read."""


class Invalid(Failure):
    """The input reads, but its values are wrong; nothing was changed."""

    @classmethod
    def fields(cls, *problems: dict) -> "Invalid":
        """Wrong values of named fields, each `{"name": …, "reason": …}`, summed up in the message."""
        summary = "; ".join(f"{problem['name']}: {problem['reason']}" for problem in problems)
        return cls(f"Invalid parameters: {summary}", problems=list(problems))


class Forbidden(Failure):
    """The caller may not do this, whatever the input."""


class NotFound(Failure):
    """The object does not exist, or belongs to another organization."""

    def __init__(self, what: str) -> None:
        super().__init__(f"{what} not found")


class Conflict(Failure):
    """The request clashes with what is stored (a duplicate, an object still in use)."""


class PaymentRequired(Failure):
    """The account cannot pay for what was asked."""

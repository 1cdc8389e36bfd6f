"""Domain errors raised by services; views turn them into messages, the API into 4xx."""


class DomainError(Exception):
    """A request the domain refuses. ``message`` is translated and safe to show to the user."""

    def __init__(self, message, *, code: str = "invalid"):
        super().__init__(message)
        self.message = message
        self.code = code


class PermissionDeniedError(DomainError):
    def __init__(self, message, *, code: str = "forbidden"):
        super().__init__(message, code=code)

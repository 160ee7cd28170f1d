"""The router and route classes of every router.

A router tells FastAPI at once that a path outside its prefix is not its own: FastAPI tries
every route of every included router in turn, one regular expression each, and an invoice
route would wait behind all the card, billing-details and project routes.

A route is documented by its endpoint's docstring: the first paragraph is the operation's
summary, the rest its description, each paragraph joined onto one line (Markdown reads them
the same; the OpenAPI document stays compact). A route that passes `summary=` or
`description=` itself keeps what it passes.

Its path parameters are text fields too, checked before anything else runs: a control
character is a 422, never a 500 from PostgreSQL, which cannot store NUL. (Checked here rather
than by an app-wide dependency, which FastAPI would solve on every request.)
"""

import inspect
from collections.abc import Callable
from typing import Any

from fastapi.routing import APIRoute, APIRouter
from starlette._utils import get_route_path
from starlette.routing import Match
from starlette.types import Receive, Scope, Send

from app.core.errors import FieldProblem, ValidationFailed
from app.core.limits import CONTROL_CHARACTERS, CONTROL_CHARACTERS_REFUSED


def _paragraphs(text: str) -> list[str]:
    return [" ".join(paragraph.split()) for paragraph in text.split("\n\n") if paragraph.strip()]


class BillingRoute(APIRoute):
    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        paragraphs = _paragraphs(inspect.getdoc(endpoint) or "")
        if paragraphs and kwargs.get("summary") is None:
            kwargs["summary"] = paragraphs[0]
        super().__init__(path, endpoint, **kwargs)
        if paragraphs and self.summary == paragraphs[0]:
            # FastAPI's own default is the whole docstring, also for "" (which a router that
            # includes this one passes on when there is nothing more to say).
            self.description = kwargs.get("description") or "\n\n".join(paragraphs[1:])

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        problems = [
            FieldProblem(field=name, message=CONTROL_CHARACTERS_REFUSED, type="invalid")
            for name, value in scope["path_params"].items()
            if isinstance(value, str) and CONTROL_CHARACTERS.search(value)
        ]
        if problems:
            raise ValidationFailed(problems)
        await super().handle(scope, receive, send)


class BillingRouter(APIRouter):
    """An `APIRouter` of `BillingRoute`s. Include it without a prefix of its own: the one it
    was made with is where all its paths are."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(route_class=BillingRoute, **kwargs)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if not get_route_path(scope).startswith(self.prefix):
            return Match.NONE, {}
        return super().matches(scope)

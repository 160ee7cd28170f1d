"""Routes documented by their endpoint's docstring.

The first paragraph is the operation's summary, the rest its description, each paragraph
joined onto one line (Markdown reads them the same; the OpenAPI document stays compact). A
route that passes `summary=` or `description=` itself keeps what it passes.
"""

import inspect
from collections.abc import Callable
from typing import Any

from fastapi.routing import APIRoute


def _paragraphs(text: str) -> list[str]:
    return [" ".join(paragraph.split()) for paragraph in text.split("\n\n") if paragraph.strip()]


class DocumentedRoute(APIRoute):
    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        paragraphs = _paragraphs(inspect.getdoc(endpoint) or "")
        if paragraphs and kwargs.get("summary") is None:
            kwargs["summary"] = paragraphs[0]
        super().__init__(path, endpoint, **kwargs)
        if paragraphs and self.summary == paragraphs[0]:
            # FastAPI's own default is the whole docstring, also for "" (which a router that
            # includes this one passes on when there is nothing more to say).
            self.description = kwargs.get("description") or "\n\n".join(paragraphs[1:])

"""Responses serialized once.

A route that returns a pydantic model has FastAPI validate it again against its response
model, then serialize it. A model the route just validated needs neither twice: the route
declares `response_model=` (so the OpenAPI document is the same) and returns this instead,
which FastAPI sends as it is.
"""

from fastapi import Response
from pydantic import BaseModel

JSON = "application/json"


def json_response(body: BaseModel, status_code: int = 200) -> Response:
    """`body` written by pydantic-core, exactly as FastAPI would have written it."""
    return Response(body.model_dump_json(), status_code=status_code, media_type=JSON)

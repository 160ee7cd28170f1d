"""Dependencies on the process's runtime that have no better home."""

from typing import Annotated

from fastapi import Depends, Request

from app.core.config import Settings


async def get_runtime_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.runtime.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_runtime_settings)]

"""Project rules: the platform registers projects; accounts only ever see their own."""

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import repository as accounts
from app.core.lookup import found
from app.core.pagination import Cursor, paginate
from app.models import Project
from app.projects import repository
from app.projects.errors import ProjectNotFound


async def register_project(
    session: AsyncSession, account_id: str, project_id: str, name: str, now: datetime
) -> tuple[Project, bool]:
    """Create or rename a project, creating its account too; True when the project is new.

    The platform may register a project before the account's first request, so the account
    is created here as it would be on that request.
    """
    await accounts.ensure(session, account_id, now)
    created = await repository.insert_if_absent(session, account_id, project_id, name, now)
    project = await repository.lock(session, account_id, project_id)
    if not created and project.name != name:
        await repository.rename(session, project, name, now)
    return project, created


async def get_project(session: AsyncSession, account_id: str, project_id: str) -> Project:
    project = await repository.get(session, account_id, project_id)
    return found(project, ProjectNotFound, f"No project {project_id} on this account.")


async def list_projects(
    session: AsyncSession, account_id: str, limit: int, cursor: str | None
) -> tuple[list[Project], bool, str | None]:
    after = Cursor.decode(cursor) if cursor is not None else None
    rows = await repository.list_page(session, account_id, limit, after)
    return paginate(rows, limit)

"""SQL for projects."""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import upsert_insert
from app.core.locking import for_update
from app.core.pagination import Cursor, after_cursor
from app.models import Project


async def insert_if_absent(
    session: AsyncSession, account_id: str, project_id: str, name: str, now: datetime
) -> bool:
    """Insert the project unless it exists; True when this call created it.

    One statement, so two platform calls racing to register the same project cannot both
    insert: the loser sees the winner's row and renames it instead.
    """
    result = await session.execute(
        upsert_insert(session, Project)
        .values(account_id=account_id, id=project_id, name=name, created_at=now, updated_at=now)
        .on_conflict_do_nothing(index_elements=[Project.account_id, Project.id])
        .returning(Project.id)
    )
    return result.first() is not None


async def get(session: AsyncSession, account_id: str, project_id: str) -> Project | None:
    result = await session.execute(
        select(Project).where(Project.account_id == account_id, Project.id == project_id)
    )
    return result.scalar_one_or_none()


async def lock(session: AsyncSession, account_id: str, project_id: str) -> Project:
    statement = select(Project).where(Project.account_id == account_id, Project.id == project_id)
    result = await session.execute(for_update(statement))
    return result.scalar_one()


async def list_page(
    session: AsyncSession, account_id: str, limit: int, cursor: Cursor | None
) -> list[Project]:
    """Up to `limit + 1` projects newest first, so the caller can tell whether more follow."""
    query = select(Project).where(Project.account_id == account_id)
    if cursor is not None:
        query = query.where(after_cursor(Project.created_at, Project.id, cursor))
    result = await session.execute(
        query.order_by(Project.created_at.desc(), Project.id.desc()).limit(limit + 1)
    )
    return list(result.scalars())


async def rename(session: AsyncSession, project: Project, name: str, now: datetime) -> None:
    project.name = name
    project.updated_at = now
    await session.flush()

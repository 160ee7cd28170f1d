"""HTTP for projects: the platform registers them, accounts list their own."""

from fastapi import Response, status

from app.accounts.dependencies import CurrentAccount
from app.core.auth import ADMIN_ERRORS, AUTH_ERRORS, AdminScope
from app.core.db import SessionDep
from app.core.openapi import error_responses
from app.core.pagination import CursorParam, Limit
from app.core.routing import BillingRouter
from app.core.runtime import ClockDep
from app.projects import service
from app.projects.errors import ProjectNotFound
from app.projects.schemas import (
    AccountIdPath,
    Project,
    ProjectIdPath,
    ProjectList,
    ProjectUpsert,
)

router = BillingRouter(prefix="/v1/projects", tags=["projects"])
admin_router = BillingRouter(prefix="/v1/admin", tags=["admin"])


@router.get(
    "",
    responses=error_responses(*AUTH_ERRORS),
)
async def list_projects(
    session: SessionDep, account_id: CurrentAccount, limit: Limit = 20, cursor: CursorParam = None
) -> ProjectList:
    """List the account's projects

    Newest first, keyset-paginated: pass `next_cursor` back as `cursor`.
    """
    return ProjectList.of(*await service.list_projects(session, account_id, limit, cursor))


@router.get(
    "/{project_id}",
    summary="Get a project",
    responses=error_responses(*AUTH_ERRORS, ProjectNotFound),
)
async def get_project(project_id: str, session: SessionDep, account_id: CurrentAccount) -> Project:
    return Project.model_validate(await service.get_project(session, account_id, project_id))


@admin_router.put(
    "/accounts/{account_id}/projects/{project_id}",
    responses={
        201: {"model": Project, "description": "The project was created."},
        **error_responses(*ADMIN_ERRORS),
    },
)
async def register_project(
    account_id: AccountIdPath,
    project_id: ProjectIdPath,
    body: ProjectUpsert,
    response: Response,
    session: SessionDep,
    clock: ClockDep,
    _admin: AdminScope,
) -> Project:
    """Register or rename a project (platform only)

    Creates the project (201), or renames it (200) if it exists. The account is created too if
    it has not made a request yet. Needs the `billing:admin` scope.
    """
    project, created = await service.register_project(
        session, account_id, project_id, body.name, clock.now()
    )
    if created:
        response.status_code = status.HTTP_201_CREATED
    return Project.model_validate(project)

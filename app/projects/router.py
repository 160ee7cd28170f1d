from fastapi import APIRouter

router = APIRouter(prefix="/v1/projects", tags=["projects"])
admin_router = APIRouter(prefix="/v1/admin", tags=["admin"])

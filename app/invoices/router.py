from fastapi import APIRouter

router = APIRouter(prefix="/v1", tags=["invoices"])
admin_router = APIRouter(prefix="/v1/admin", tags=["admin"])

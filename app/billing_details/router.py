from fastapi import APIRouter

router = APIRouter(prefix="/v1/billing-details", tags=["billing details"])

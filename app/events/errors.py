"""Errors of the events domain: the event log and the webhook endpoints."""

from app.core.errors import NotFound


class EventNotFound(NotFound, code="event_not_found"): ...


class WebhookEndpointNotFound(NotFound, code="webhook_endpoint_not_found"): ...

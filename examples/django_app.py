"""A single-file Django project that tracks server-side events for the user of each request.

This module is the settings, the URLconf and the views. SessionAnalyticsMiddleware makes one
FullStory client per process and makes each request's user current, read here by the USER
callable from the X-User-Id header (by default it is ``request.user.pk`` when authenticated);
a sync and an async view call ``client().events.track()`` with no ``user=``. The SDK's exit drain
delivers what is still queued when the server stops. From the repository root:

    PYTHONPATH=. FULLSTORY_API_KEY=... python -m django runserver --noreload \
        --settings=examples.django_app
    # or against a sandbox: FULLSTORY_BASE_URL=http://127.0.0.1:8765 FULLSTORY_API_KEY=any ...
    curl -X POST localhost:8000/orders/o-1/ship -H 'X-User-Id: user-42'
"""

from __future__ import annotations

import os
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.urls import path

from session_analytics.integrations.django import client


def user_from_header(request: HttpRequest) -> str | None:
    """The request's user: the X-User-Id header, or nobody."""
    return request.headers.get("X-User-Id") or None


SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "example-only-not-a-secret")
DEBUG = False
ALLOWED_HOSTS = ["localhost", "127.0.0.1", "testserver"]
ROOT_URLCONF = __name__
INSTALLED_APPS: list[str] = []
DATABASES: dict[str, Any] = {}
USE_TZ = True
MIDDLEWARE = ["session_analytics.integrations.django.SessionAnalyticsMiddleware"]
SESSION_ANALYTICS: dict[str, Any] = {
    # FULLSTORY_API_KEY and FULLSTORY_BASE_URL fall back to the environment variables.
    "USER": user_from_header,
}


def ship_order(request: HttpRequest, order_id: str) -> JsonResponse:
    client().events.track("Order Shipped", properties={"order_id": order_id})
    return JsonResponse({"shipped": order_id})


async def refund_order(request: HttpRequest, order_id: str) -> JsonResponse:
    client().events.track("Order Refunded", properties={"order_id": order_id})
    return JsonResponse({"refunded": order_id})


urlpatterns = [
    path("orders/<str:order_id>/ship", ship_order),
    path("orders/<str:order_id>/refund", refund_order),
]

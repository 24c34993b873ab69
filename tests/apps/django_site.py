"""A one-module Django site (its settings and its URLs) with SessionAnalyticsMiddleware, for the
Django integration tests: sync and async views track an event with no ``user=``.

``request.user`` comes from the X-User header (a stand-in for AuthenticationMiddleware, with no
database): its primary key is the uid the middleware sets by default. Run by ``python -m django
runserver --settings=django_site``; the tests also configure Django from these names in-process.
"""

from __future__ import annotations

import os
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path

from session_analytics import fullstory
from session_analytics.integrations.django import client

SECRET_KEY = "django-site-for-tests"
DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = __name__
INSTALLED_APPS: list[str] = []
DATABASES: dict[str, Any] = {}
USE_TZ = True
MIDDLEWARE = [
    f"{__name__}.HeaderUserMiddleware",
    "session_analytics.integrations.django.SessionAnalyticsMiddleware",
]
SESSION_ANALYTICS: dict[str, Any] = {
    "FULLSTORY_API_KEY": os.environ.get("FULLSTORY_API_KEY"),
    "FULLSTORY_BASE_URL": os.environ.get("FULLSTORY_BASE_URL"),
}
if os.environ.get("HOLD_EVENTS") == "1":  # sent only by the exit drain
    from session_analytics.fullstory import BatchingOptions

    SESSION_ANALYTICS["FULLSTORY_OPTIONS"] = {"batching": BatchingOptions(flush_interval=3600)}


class HeaderUser:
    is_authenticated = True

    def __init__(self, pk: str) -> None:
        self.pk = pk


class AnonymousUser:
    is_authenticated = False
    pk = None


class HeaderUserMiddleware:
    """Sets ``request.user`` from the X-User header (sync and async capable)."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Any) -> None:
        from asgiref.sync import iscoroutinefunction, markcoroutinefunction

        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        name = request.headers.get("X-User")
        request.user = HeaderUser(name) if name else AnonymousUser()  # type: ignore[assignment]
        return self.get_response(request)


def user_from_query(request: HttpRequest) -> str | None:
    """A ``SESSION_ANALYTICS["USER"]`` callable: the ``user`` query parameter."""
    return request.GET.get("user")


def track(request: HttpRequest, name: str) -> JsonResponse:
    client().events.track(name, properties={"kind": "sync"})
    return JsonResponse({"user": fullstory.current_user()})


async def track_async(request: HttpRequest, name: str) -> JsonResponse:
    client().events.track(name, properties={"kind": "async"})
    return JsonResponse({"user": fullstory.current_user()})


def identify_then_track(request: HttpRequest, uid: str, name: str) -> JsonResponse:
    fullstory.identify(uid=uid)
    client().events.track(name)
    return JsonResponse({"user": fullstory.current_user()})


def health(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


urlpatterns = [
    path("track/<str:name>", track),
    path("async-track/<str:name>", track_async),
    path("identify/<str:uid>/<str:name>", identify_then_track),
    path("health", health),
]

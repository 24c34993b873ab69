"""Framework integrations: ASGI (Starlette, FastAPI), Flask, Django and Celery. Each module imports
its framework only when it is itself imported; ``import session_analytics`` imports none of them.

- ``session_analytics.integrations.asgi.SessionAnalyticsMiddleware``
- ``session_analytics.integrations.flask.SessionAnalytics``
- ``session_analytics.integrations.django.SessionAnalyticsMiddleware``
- ``session_analytics.integrations.celery.setup``
"""

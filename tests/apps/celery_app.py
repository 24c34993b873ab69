"""A Celery app with the session-analytics integration, for the Celery integration tests: its
task tracks an event with no ``user=``, for the user of the producer that sent it.

Run by ``celery -A celery_app worker`` (its client configured from the environment), with kombu's
filesystem transport in CELERY_BROKER_DIR: no broker server. With HOLD_EVENTS=1 its client sends
nothing before it is drained; with SESSION_ANALYTICS_SETUP=0 the integration is left out.
"""

from __future__ import annotations

import os
from pathlib import Path

from celery import Celery

from session_analytics.fullstory import BatchingOptions, FullStory
from session_analytics.integrations import celery as session_analytics

TASK_NAME = "billing.send_invoice"


def make_client() -> FullStory:
    if os.environ.get("HOLD_EVENTS") == "1":  # sent only by the shutdown drain
        return FullStory(batching=BatchingOptions(flush_interval=3600))
    return FullStory()


def make_app(broker_dir: str | os.PathLike[str]) -> Celery:
    """An app whose broker is the folder ``broker_dir`` (its messages/ folder must exist)."""
    messages = str(Path(broker_dir) / "messages")
    control = Path(broker_dir) / "control"  # kombu's broadcast folder: "control/" of the cwd else
    app = Celery("billing", broker="filesystem://")
    app.conf.update(
        broker_transport_options={
            "data_folder_in": messages,
            "data_folder_out": messages,
            "control_folder": str(control),
            "store_processed": False,
            "polling_interval": 0.1,
        },
        broker_connection_retry_on_startup=True,
        task_ignore_result=True,
        worker_enable_remote_control=False,
        worker_send_task_events=False,
        worker_prefetch_multiplier=1,
    )

    @app.task(name=TASK_NAME, shared=False)
    def send_invoice(invoice_id: str) -> None:
        session_analytics.client().events.track(
            "Invoice Sent", properties={"invoice_id": invoice_id, "pid": os.getpid()}
        )

    if os.environ.get("SESSION_ANALYTICS_SETUP") != "0":
        # CLIENT_BEFORE_FORK=1: the client is made now, in the worker's main process, and each
        # prefork child inherits it (it starts afresh there); else each child makes its own.
        given = make_client() if os.environ.get("CLIENT_BEFORE_FORK") == "1" else make_client
        session_analytics.setup(app, fullstory=given)
    return app


app = make_app(os.environ.get("CELERY_BROKER_DIR", "celery-broker"))

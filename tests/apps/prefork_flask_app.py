"""The Flask integration app made at import, for the pre-fork tests: under gunicorn ``--preload``
its FullStory client is made in the master, before the workers are forked, and each worker uses
its inherited copy. ``/whoami`` tells which process answered and which one made the client.
"""

from __future__ import annotations

import os

from flask import jsonify
from flask_app import create_app

MADE_IN = os.getpid()  # the process that imported the app and made its client

app = create_app()


@app.get("/whoami")
def whoami() -> object:
    return jsonify(worker=os.getpid(), client_made_in=MADE_IN)

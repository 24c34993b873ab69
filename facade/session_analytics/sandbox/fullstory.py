"""State and rules of the emulated FullStory Server API v2: users, sessions and events.

Sessions come from what arrives: an event naming a session id the sandbox does not know starts
that session (its user is the user whose id is the part before ':', else a new anonymous user
with that id), and an event with ``use_most_recent`` starts a new session for its user when the
user has none active within ``session_window_s``, as a browser recording would.

No HTTP here: every operation takes parsed JSON and returns JSON-ready dicts, or raises ApiError
with the status, code and message the real API answers with. Batch jobs (``jobs.py``) run each of
their items through the same operations.
"""

from __future__ import annotations

import itertools
import json
import random
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any

import attrs

from .. import _properties as props
from .. import _rules
from . import spec
from .config import SandboxConfig
from .errors import ApiError, bad_request, not_found, user_not_found
from .paging import paginate

EMPTY_NAME_MESSAGE = "events must have a non-empty name"


def utc_iso(wall_seconds: float) -> str:
    stamp = datetime.fromtimestamp(wall_seconds, tz=timezone.utc)
    return stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@attrs.define
class Clock:
    """Monotonic time for durations and wall time for timestamps; tests may drive both."""

    monotonic: Callable[[], float]
    wall: Callable[[], float]

    def wall_at(self, monotonic_moment: float) -> float:
        return self.wall() - (self.monotonic() - monotonic_moment)


@attrs.define
class PropertyState:
    """Properties of one user, with the types FullStory keeps for them."""

    values: dict[str, Any] = attrs.field(factory=dict)
    types: dict[str, str] = attrs.field(factory=dict)
    conflicts: dict[str, list[str]] = attrs.field(factory=dict)

    def merge(
        self, leaves: list[props.Leaf], new: Mapping[str, Any], declared: dict[str, str]
    ) -> None:
        _deep_merge(self.values, new)
        for path, value in leaves:
            self._forget_replaced(path)
            kind = declared.get(path) or props.infer_type(value)
            if kind is None:
                continue
            old = self.types.get(path)
            if old is not None and old != kind:
                seen = self.conflicts.setdefault(path, [old])
                if kind not in seen:
                    seen.append(kind)
            self.types[path] = kind
        for path, kind in declared.items():
            self.types.setdefault(path, kind)

    def _forget_replaced(self, path: str) -> None:
        """A value replacing a nested object (or the other way round) drops the old paths."""
        nested = path + "."
        parts = path.split(".")
        parents = {".".join(parts[:i]) for i in range(1, len(parts))}
        for old in [p for p in self.types if p.startswith(nested) or p in parents]:
            del self.types[old]
            self.conflicts.pop(old, None)

    def schema(self) -> dict[str, Any]:
        return {"properties": dict(sorted(self.types.items()))}

    def type_conflicts(self) -> dict[str, Any]:
        return {"properties": {k: list(v) for k, v in sorted(self.conflicts.items())}}


def _deep_merge(into: dict[str, Any], new: Mapping[str, Any]) -> None:
    for key, value in new.items():
        if isinstance(value, Mapping) and isinstance(into.get(key), dict):
            _deep_merge(into[key], value)
        elif isinstance(value, Mapping):
            into[key] = json.loads(json.dumps(value))
        else:
            into[key] = value


@attrs.define
class User:
    id: str
    created: float
    uid: str | None = None
    display_name: str | None = None
    email: str | None = None
    properties: PropertyState = attrs.field(factory=PropertyState)
    deleting_since: float | None = None

    def to_api(self, include_schema: bool) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id}
        for name in ("uid", "display_name", "email"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        out["is_being_deleted"] = self.deleting_since is not None
        out["properties"] = json.loads(json.dumps(self.properties.values))
        if include_schema:  # else left out: the API's schema has no null for them
            out["schema"] = self.properties.schema()
            out["type_conflicts"] = self.properties.type_conflicts()
        return out


@attrs.define
class Session:
    id: str
    user_id: str
    last_active: float  # monotonic
    created_wall: float = 0.0
    uid: str | None = None  # a customer-defined session id, given through the admin route
    events: list[dict[str, Any]] = attrs.field(factory=list)  # in the order they arrived


def checked_properties(
    body: Mapping[str, Any], where: str = ""
) -> tuple[list[props.Leaf], dict[str, str]]:
    """Apply the property rules to ``body["properties"]`` and ``body["schema"]``.

    Raises:
        ApiError: 400 ``invalid_argument`` naming the property.
    """
    try:
        declared = props.declared_types(body.get("schema"), f"{where}schema")
        found = props.leaves(body.get("properties") or {}, f"{where}properties")
        props.check_declared(found, declared, f"{where}properties")
    except props.PropertyRuleError as err:
        raise bad_request(str(err)) from None
    return found, declared


def check_event_body(body: Any) -> None:
    """Schema check of one CreateEventRequest, with the API's own message for a missing name."""
    if isinstance(body, Mapping) and not body.get("name"):
        raise bad_request(EMPTY_NAME_MESSAGE)
    spec.validate("fullstory", "CreateEventRequest", body)


class FullStoryState:
    def __init__(self, clock: Clock, config: Callable[[], SandboxConfig]) -> None:
        self._clock = clock
        self._config = config
        self._ids = itertools.count(random.SystemRandom().randrange(10**11, 10**12) * 1000)
        self.users: dict[str, User] = {}
        self._by_uid: dict[str, str] = {}
        self.sessions: dict[str, Session] = {}
        self.events: list[dict[str, Any]] = []
        # Wall times of every session started and every event stored, for the quotas.
        self.session_starts: list[float] = []
        self.event_arrivals: list[float] = []

    # ---- users -----------------------------------------------------------------------------

    def _new_user(self, user_id: str | None = None) -> User:
        if user_id is None:
            user_id = str(next(self._ids))
            while user_id in self.users:
                user_id = str(next(self._ids))
        user = User(id=user_id, created=self._clock.monotonic())
        self.users[user.id] = user
        return user

    def _live_user(self, user_id: str) -> User:
        """The user with this id; 404 once a deletion has run its course."""
        user = self.users.get(user_id)
        if user is None:
            raise not_found()
        if user.deleting_since is not None:
            gone_at = user.deleting_since + self._config().deletion_window_s
            if self._clock.monotonic() >= gone_at:
                self._forget_user(user)
                raise not_found()
        return user

    def _forget_user(self, user: User) -> None:
        self.users.pop(user.id, None)
        if user.uid is not None and self._by_uid.get(user.uid) == user.id:
            del self._by_uid[user.uid]
        # Sessions go with the user; received events stay in the sandbox's log of what arrived.
        for session_id in [k for k, s in self.sessions.items() if s.user_id == user.id]:
            del self.sessions[session_id]

    def sweep_deleted(self) -> None:
        window = self._config().deletion_window_s
        now = self._clock.monotonic()
        for user in [u for u in self.users.values() if u.deleting_since is not None]:
            if now >= user.deleting_since + window:  # type: ignore[operator]
                self._forget_user(user)

    def user_by_uid(self, uid: str) -> User | None:
        user_id = self._by_uid.get(uid)
        if user_id is None:
            return None
        user = self.users.get(user_id)
        if user is None or user.deleting_since is not None:
            return None
        return user

    def _deleting_with_uid(self, uid: str) -> User | None:
        """A user with this uid whose deletion is still running (deleting again is fine)."""
        self.sweep_deleted()
        for user in self.users.values():
            if user.uid == uid and user.deleting_since is not None:
                return user
        return None

    def upsert_user(self, body: Mapping[str, Any], *, by_id: bool = False, where: str = "") -> User:
        """POST /v2/users and (with ``by_id``) each item of a users import job.

        Only an item of an import job may name an existing user by FullStory ``id``; the single
        create does not know that field and ignores it, as the API ignores unknown fields.
        """
        found, declared = checked_properties(body, where)
        user: User | None = None
        if by_id and body.get("id"):
            user = self._live_user(str(body["id"]))
            if user.deleting_since is not None:
                raise not_found()
        uid = body.get("uid")
        if user is None and uid:
            user = self.user_by_uid(uid)
        if user is None:
            user = self._new_user()
        self._apply(user, body, found, declared, where)
        return user

    def update_user(self, user_id: str, body: Mapping[str, Any]) -> User:
        found, declared = checked_properties(body)
        user = self._live_user(user_id)
        if user.deleting_since is not None:
            raise not_found()
        self._apply(user, body, found, declared, "")
        return user

    def _apply(
        self,
        user: User,
        body: Mapping[str, Any],
        found: list[props.Leaf],
        declared: dict[str, str],
        where: str,
    ) -> None:
        uid = body.get("uid")
        if uid and uid != user.uid:
            if user.uid is not None:
                raise bad_request(f"{where}uid: the uid of a user cannot be changed once it is set")
            other = self.user_by_uid(uid)
            if other is not None and other.id != user.id:
                raise bad_request(f"{where}uid: another user already has this uid")
            user.uid = uid
            self._by_uid[uid] = user.id
        for name in ("display_name", "email"):
            if body.get(name) is not None:
                setattr(user, name, body[name])
        user.properties.merge(found, body.get("properties") or {}, declared)

    def get_user(self, user_id: str, include_schema: bool) -> dict[str, Any]:
        return self._live_user(user_id).to_api(include_schema)

    def list_users(
        self,
        *,
        uid: str | None,
        email: str | None,
        display_name: str | None,
        is_identified: bool | None,
        page_token: str | None,
        include_schema: bool,
    ) -> dict[str, Any]:
        self.sweep_deleted()
        filters = {"uid": uid, "email": email, "display_name": display_name, "id": is_identified}
        matches = [
            u
            for u in self.users.values()
            if (uid is None or u.uid == uid)
            and (email is None or u.email == email)
            and (display_name is None or u.display_name == display_name)
            and (is_identified is None or (u.uid is not None) == is_identified)
        ]
        page, next_token = paginate(
            matches, page_token, self._config().list_page_size, json.dumps(filters)
        )
        out: dict[str, Any] = {
            "results": [u.to_api(include_schema) for u in page],
            "total_records": str(len(matches)),
        }
        if next_token:
            out["next_page_token"] = next_token
        return out

    def delete_user(self, *, user_id: str | None = None, uid: str | None = None) -> None:
        if uid is not None:
            if not uid:
                raise bad_request("uid is required", code="required_field")
            found = self.user_by_uid(uid) or self._deleting_with_uid(uid)
            if found is None:
                raise not_found()
            user = found
        else:
            user = self._live_user(str(user_id))
        if user.deleting_since is None:
            user.deleting_since = self._clock.monotonic()
        if self._config().deletion_window_s == 0:
            self._forget_user(user)

    # ---- sessions (from events, or from the admin route, standing in for a recording) -----

    def new_session(
        self,
        *,
        user_id: str | None,
        uid: str | None,
        form: str,
        session_uid: str | None = None,
    ) -> Session:
        if user_id:
            user = self._live_user(user_id)
        elif uid:
            user = self.user_by_uid(uid) or self.upsert_user({"uid": uid})
        else:
            user = self._new_user()
        if form == "uuid":
            session_id = f"{uuid.uuid4()}:{uuid.uuid4()}"
        else:
            rng = random.SystemRandom()
            session_id = f"{rng.randrange(10**17, 10**18)}:{rng.randrange(10**17, 10**18)}"
        return self._start_session(user, session_id, session_uid)

    def _start_session(self, user: User, session_id: str, uid: str | None = None) -> Session:
        wall = self._clock.wall()
        session = Session(session_id, user.id, self._clock.monotonic(), wall, uid)
        self.sessions[session_id] = session
        self.session_starts.append(wall)
        return session

    def _recording_session(self, user: User) -> Session:
        """A new session of ``user``, its id made of the user's id and a fresh part."""
        if user.id.isdigit():
            second = str(random.SystemRandom().randrange(10**17, 10**18))
        else:
            second = str(uuid.uuid4())
        return self._start_session(user, f"{user.id}:{second}")

    def _session_from_id(self, session_id: str) -> tuple[User, Session | None]:
        """The session an event names by id, started when it is new (see the module doc)."""
        session = self.sessions.get(session_id)
        if session is not None:
            user = self.users.get(session.user_id)
            if user is not None and user.deleting_since is None:
                return user, session
            return self._new_user(), None  # its user is being deleted: stored without one
        user_part = session_id.partition(":")[0]
        known = self.users.get(user_part)
        if known is not None and known.deleting_since is not None:
            return self._new_user(), None
        user = known or self._new_user(user_part)
        return user, self._start_session(user, session_id)

    # ---- events ------------------------------------------------------------------------------

    def create_event(
        self,
        body: Mapping[str, Any],
        *,
        shared: Mapping[str, Any] | None = None,
        via: str = "api",
        job_id: str | None = None,
        idempotency_key: str | None = None,
        integration_source: str | None = None,
        where: str = "",
    ) -> dict[str, Any]:
        """POST /v2/events and each item of an events import job; returns the stored event."""
        found, declared = checked_properties(body, where)
        shared_context = (shared or {}).get("context")
        if shared_context is not None and body.get("context") is not None:
            raise bad_request(
                f"{where}context: this item has a context and the job has shared.context; "
                "give it in one place"
            )
        user, session = self._identify(body.get("user") or {}, body.get("session") or {}, where)
        now = self._clock.wall()
        event: dict[str, Any] = {
            "api": "fullstory",
            "name": body["name"],
            "timestamp": body.get("timestamp") or utc_iso(now),
            "user": {"id": user.id, **({"uid": user.uid} if user.uid else {})},
            "session": {"id": session.id} if session else None,
            "context": body.get("context") or shared_context,
            "properties": body.get("properties") or {},
            "schema": {"properties": {p: declared.get(p) or props.infer_type(v) for p, v in found}},
            "via": via,
            "job_id": job_id,
            "idempotency_key": idempotency_key,
            "integration_source": integration_source,
            "received_at": utc_iso(now),
        }
        self.events.append(event)
        self.event_arrivals.append(now)
        if session is not None:
            session.events.append(event)
        return event

    def _identify(
        self, user_ref: Mapping[str, Any], session_ref: Mapping[str, Any], where: str
    ) -> tuple[User, Session | None]:
        user_id, uid = user_ref.get("id"), user_ref.get("uid")
        session_id = session_ref.get("id")
        most_recent = bool(session_ref.get("use_most_recent"))
        if session_id:
            if user_id or uid:
                raise bad_request(
                    f"{where}session.id names the session and its user; do not also give user"
                )
            if most_recent:
                raise bad_request(f"{where}session: give session.id or use_most_recent, not both")
            problem = _rules.session_id_problem(str(session_id))
            if problem is not None:  # the SDK's rule too
                raise bad_request(f"{where}session.id {problem}")
            user, found = self._session_from_id(str(session_id))
            if found is not None:
                found.last_active = self._clock.monotonic()
            return user, found
        if user_id and uid:
            raise bad_request(f"{where}user: give user.id or user.uid, not both")
        if most_recent and not (user_id or uid):
            raise bad_request(
                f"{where}session.use_most_recent needs exactly one of user.id and user.uid"
            )
        if user_id:
            try:
                user = self._live_user(str(user_id))
            except ApiError:
                raise user_not_found() from None
            if user.deleting_since is not None:
                raise user_not_found()
        elif uid:
            user = self.user_by_uid(uid) or self.upsert_user({"uid": uid})
        else:
            user = self._new_user()
        if not most_recent:
            return user, None
        session = self._recent_session(user) or self._recording_session(user)
        session.last_active = self._clock.monotonic()
        return user, session

    def _recent_session(self, user: User) -> Session | None:
        horizon = self._clock.monotonic() - self._config().session_window_s
        recent = [
            s for s in self.sessions.values() if s.user_id == user.id and s.last_active >= horizon
        ]
        return max(recent, key=lambda s: s.last_active) if recent else None

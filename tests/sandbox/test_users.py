"""The sandbox's FullStory users routes, over real HTTP (API-FACTS §4, §5, §8, §9; §11 items 6-12,
18, 28 and 29): upsert, read, list and paging, update, delete, property rules and Idempotency-Key.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import httpx
import pytest
from support import wait_until

from fullstory_api import AuthenticatedClient
from fullstory_api.api.users import get_user, list_users
from fullstory_api.models import GetUserResponse, ListUsersResponse
from session_analytics.sandbox import Sandbox

REPLAY_HEADER = "X-Sandbox-Idempotent-Replay"
REUSED_KEY_MESSAGE = "Idempotency-Key was already used with a different request body"
NOT_FOUND = {"code": "resource_not_found", "message": "Requested resource does not exist"}


# ---- helpers -------------------------------------------------------------------------------------


def create(fs: httpx.Client, **body: Any) -> str:
    response = fs.post("/v2/users", json=body)
    assert response.status_code == 200, response.text
    user_id: str = response.json()["id"]
    return user_id


def fetch(fs: httpx.Client, user_id: str, **params: Any) -> dict[str, Any]:
    response = fs.get(f"/v2/users/{user_id}", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def listing(fs: httpx.Client, **params: Any) -> dict[str, Any]:
    response = fs.get("/v2/users", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def walk(fs: httpx.Client, **filters: Any) -> list[dict[str, Any]]:
    """Every page of a listing, as the list of pages (each a response body)."""
    pages = [listing(fs, **filters)]
    while pages[-1].get("next_page_token"):
        pages.append(listing(fs, **filters, page_token=pages[-1]["next_page_token"]))
        assert len(pages) < 100, "paging does not end"
    return pages


def user_ids(fs: httpx.Client, **filters: Any) -> list[str]:
    return [u["id"] for page in walk(fs, **filters) for u in page["results"]]


def assert_error(response: httpx.Response, status: int, code: str, *fragments: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"code", "message"}
    assert body["code"] == code
    for fragment in fragments:
        assert fragment in body["message"]
    message: str = body["message"]
    return message


def token_of(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


# ---- create (upsert) -----------------------------------------------------------------------------


def test_create_returns_only_a_digit_string_id(fs: httpx.Client) -> None:
    response = fs.post(
        "/v2/users",
        json={"uid": "u-1", "display_name": "Ann", "email": "ann@example.com"},
    )

    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["id"]
    assert isinstance(body["id"], str)
    assert body["id"].isdigit()


def test_create_with_a_known_uid_updates_that_user(fs: httpx.Client) -> None:
    first = create(fs, uid="u-1", display_name="Ann", email="ann@example.com", properties={"a": 1})

    second = create(fs, uid="u-1", display_name="Ann B.", properties={"b": "x"})

    assert second == first
    user = fetch(fs, first)
    assert user["display_name"] == "Ann B."
    assert user["email"] == "ann@example.com"
    assert user["properties"] == {"a": 1, "b": "x"}
    assert listing(fs)["total_records"] == "1"


def test_create_without_uid_makes_a_new_anonymous_user_each_time(fs: httpx.Client) -> None:
    first = create(fs, display_name="Guest")
    second = create(fs, display_name="Guest")

    assert first != second
    assert sorted(user_ids(fs, is_identified="false")) == sorted([first, second])
    assert fetch(fs, first).get("uid") is None


def test_email_format_is_not_checked(fs: httpx.Client) -> None:
    user_id = create(fs, uid="u-1", email="donotreply@fullstory")

    assert fetch(fs, user_id)["email"] == "donotreply@fullstory"


@pytest.mark.parametrize(("field", "limit"), [("uid", 256), ("display_name", 256), ("email", 128)])
def test_field_length_limits(fs: httpx.Client, field: str, limit: int) -> None:
    at_limit = create(fs, **{field: "x" * limit})
    assert fetch(fs, at_limit)[field] == "x" * limit

    too_long = fs.post("/v2/users", json={field: "y" * (limit + 1)})
    assert_error(too_long, 400, "invalid_argument", field, str(limit))

    update = fs.post(f"/v2/users/{create(fs)}", json={field: "z" * (limit + 1)})
    assert_error(update, 400, "invalid_argument", field, str(limit))
    assert listing(fs)["total_records"] == "2"


# ---- get -----------------------------------------------------------------------------------------


def test_get_returns_every_stored_field_unchanged(fs: httpx.Client) -> None:
    properties = {
        "plan": "pro",
        "seats": 12,
        "ratio": 0.25,
        "trial": False,
        "signed_up": "2024-02-01T12:30:00.000Z",
        "company": {"name": "Acme", "address": {"city": "Paris", "since": "2019-05-04"}},
        "tags": ["a", "b"],
    }
    user_id = create(
        fs, uid="u-1", display_name="Ann", email="ann@example.com", properties=properties
    )

    user = fetch(fs, user_id)

    user.pop("app_url", None)
    assert user == {
        "id": user_id,
        "uid": "u-1",
        "display_name": "Ann",
        "email": "ann@example.com",
        "is_being_deleted": False,
        "properties": properties,
    }  # no "schema"/"type_conflicts" unless asked for: the API's schema has no null for them
    assert "schema" not in fetch(fs, user_id, include_schema="false")


def test_get_of_an_anonymous_user_still_has_is_being_deleted(fs: httpx.Client) -> None:
    user = fetch(fs, create(fs))

    assert user["is_being_deleted"] is False
    assert user.get("uid") is None
    assert user.get("properties") in (None, {})


def test_get_of_an_unknown_id_is_404(fs: httpx.Client) -> None:
    response = fs.get("/v2/users/123456789")

    assert response.status_code == 404
    assert response.json() == NOT_FOUND


def test_include_schema_reports_inferred_and_declared_types(fs: httpx.Client) -> None:
    user_id = create(
        fs,
        uid="u-1",
        properties={
            "count": 2,
            "ratio": 0.5,
            "plan": "pro",
            "active": True,
            "loc": {"city": "Paris", "zip": 75001},
            "tags": ["a", "b"],
            "scores": [1, 2.5],
            "flags": [True, False],
            "days": 3,
            "signed_up": "2024-02-01T12:30:00Z",
        },
        schema={"properties": {"days": "int", "signed_up": "date"}},
    )

    user = fetch(fs, user_id, include_schema="true")

    assert user["schema"] == {
        "properties": {
            "active": "bool",
            "count": "real",
            "days": "int",
            "flags": "bools",
            "loc.city": "str",
            "loc.zip": "real",
            "plan": "str",
            "ratio": "real",
            "scores": "reals",
            "signed_up": "date",
            "tags": "strs",
        }
    }
    assert not (user["type_conflicts"] or {}).get("properties")


def test_a_type_change_across_updates_shows_in_type_conflicts(fs: httpx.Client) -> None:
    user_id = create(fs, uid="u-1", properties={"plan": 1, "seats": 3})
    fs.post(f"/v2/users/{user_id}", json={"properties": {"plan": "pro", "seats": 4}})

    user = fetch(fs, user_id, include_schema="true")

    conflicts = user["type_conflicts"]["properties"]
    assert list(conflicts) == ["plan"]
    assert set(conflicts["plan"]) == {"real", "str"}
    assert user["properties"] == {"plan": "pro", "seats": 4}


def test_generated_client_reads_the_answers(sandbox: Sandbox, fs: httpx.Client) -> None:
    user_id = create(fs, uid="u-1", display_name="Ann", properties={"loc": {"city": "Paris"}})

    with AuthenticatedClient(base_url=sandbox.url, token=sandbox.api_key, prefix="Basic") as client:
        one = get_user.sync(user_id, client=client, include_schema=True)
        page = list_users.sync(client=client, uid="u-1")

    assert isinstance(one, GetUserResponse)
    assert (one.id, one.uid, one.is_being_deleted) == (user_id, "u-1", False)
    assert one.properties is not None
    assert one.properties.to_dict() == {"loc": {"city": "Paris"}}
    assert isinstance(page, ListUsersResponse)
    assert page.total_records == "1"
    assert [u.id for u in page.results] == [user_id]


# ---- list ----------------------------------------------------------------------------------------


@pytest.fixture
def people(fs: httpx.Client) -> dict[str, str]:
    """Three users whose fields differ only slightly, to show that filters match exactly."""
    return {
        "alice": create(fs, uid="alice", email="alice@example.com", display_name="Alice"),
        "alice2": create(fs, uid="alice2", email="alice@example.com.au", display_name="Alice S"),
        "guest": create(fs, display_name="Alice"),
    }


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"uid": "alice"}, ["alice"]),
        ({"uid": "ali"}, []),
        ({"email": "alice@example.com"}, ["alice"]),
        ({"display_name": "Alice"}, ["alice", "guest"]),
        ({"is_identified": "true"}, ["alice", "alice2"]),
        ({"is_identified": "false"}, ["guest"]),
        ({"display_name": "Alice", "is_identified": "true"}, ["alice"]),
        ({}, ["alice", "alice2", "guest"]),
    ],
)
def test_list_filters_match_exactly(
    fs: httpx.Client, people: dict[str, str], filters: dict[str, str], expected: list[str]
) -> None:
    body = listing(fs, **filters)

    assert sorted(u["id"] for u in body["results"]) == sorted(people[n] for n in expected)
    assert body["total_records"] == str(len(expected))
    assert not body.get("next_page_token")


def test_list_results_are_full_users(fs: httpx.Client) -> None:
    user_id = create(fs, uid="u-1", email="ann@example.com", properties={"a": {"b": 1}})

    (user,) = listing(fs, uid="u-1", include_schema="true")["results"]

    assert user["id"] == user_id
    assert user["email"] == "ann@example.com"
    assert user["is_being_deleted"] is False
    assert user["properties"] == {"a": {"b": 1}}
    assert user["schema"] == {"properties": {"a.b": "real"}}


def test_paging_walks_every_user_exactly_once(sandbox: Sandbox, fs: httpx.Client) -> None:
    sandbox.configure(list_page_size=2)
    created = [create(fs, uid=f"u-{n}") for n in range(5)]

    pages = walk(fs)

    assert [len(p["results"]) for p in pages] == [2, 2, 1]
    assert all(p["total_records"] == "5" for p in pages)
    assert all(p.get("next_page_token") for p in pages[:-1])
    assert not pages[-1].get("next_page_token")
    seen = [u["id"] for p in pages for u in p["results"]]
    assert sorted(seen) == sorted(created)


def test_paging_keeps_the_filters(sandbox: Sandbox, fs: httpx.Client) -> None:
    sandbox.configure(list_page_size=2)
    identified = [create(fs, uid=f"u-{n}") for n in range(3)]
    create(fs)
    create(fs)

    pages = walk(fs, is_identified="true")

    assert len(pages) == 2
    assert all(p["total_records"] == "3" for p in pages)
    assert sorted(u["id"] for p in pages for u in p["results"]) == sorted(identified)


@pytest.mark.parametrize(
    "token",
    ["garbage", "!!!", token_of("offset"), token_of([-1, 0]), token_of([1.5, 0]), token_of({})],
)
def test_list_refuses_a_page_token_it_did_not_give_out(fs: httpx.Client, token: str) -> None:
    create(fs, uid="u-1")

    assert_error(fs.get("/v2/users", params={"page_token": token}), 400, "invalid_argument")


def test_list_refuses_a_page_token_reused_with_other_filters(
    sandbox: Sandbox, fs: httpx.Client
) -> None:
    sandbox.configure(list_page_size=1)
    create(fs, uid="u-1")
    create(fs, uid="u-2")
    create(fs)
    token = listing(fs, is_identified="true")["next_page_token"]

    assert listing(fs, is_identified="true", page_token=token)["total_records"] == "2"
    for other in ({"is_identified": "false"}, {}, {"uid": "u-2"}):
        response = fs.get("/v2/users", params={**other, "page_token": token})
        assert_error(response, 400, "invalid_argument", "page_token")


# ---- update --------------------------------------------------------------------------------------


def test_update_merges_properties(fs: httpx.Client) -> None:
    user_id = create(
        fs,
        uid="u-1",
        properties={"plan": "free", "seats": 1, "loc": {"city": "Paris", "zip": "75001"}},
    )

    response = fs.post(
        f"/v2/users/{user_id}",
        json={"properties": {"plan": "pro", "trial": True, "loc": {"city": "Lyon"}}},
    )

    assert response.status_code == 200
    assert response.json() == {"id": user_id}
    assert fetch(fs, user_id)["properties"] == {
        "plan": "pro",
        "seats": 1,
        "trial": True,
        "loc": {"city": "Lyon", "zip": "75001"},
    }


def test_update_keeps_the_fields_it_does_not_send(fs: httpx.Client) -> None:
    user_id = create(fs, uid="u-1", display_name="Ann", email="ann@example.com")

    fs.post(f"/v2/users/{user_id}", json={"display_name": "Ann B."})

    user = fetch(fs, user_id)
    assert (user["uid"], user["display_name"], user["email"]) == (
        "u-1",
        "Ann B.",
        "ann@example.com",
    )


def test_update_cannot_change_a_uid_that_is_set(fs: httpx.Client) -> None:
    user_id = create(fs, uid="u-1")

    response = fs.post(f"/v2/users/{user_id}", json={"uid": "u-2"})

    assert_error(response, 400, "invalid_argument", "uid")
    assert fetch(fs, user_id)["uid"] == "u-1"
    assert listing(fs, uid="u-2")["total_records"] == "0"
    same_again = fs.post(f"/v2/users/{user_id}", json={"uid": "u-1", "display_name": "Ann"})
    assert same_again.status_code == 200


def test_update_with_a_uid_identifies_an_anonymous_user(fs: httpx.Client) -> None:
    user_id = create(fs, display_name="Guest")

    response = fs.post(f"/v2/users/{user_id}", json={"uid": "later"})

    assert response.json() == {"id": user_id}
    assert fetch(fs, user_id)["uid"] == "later"
    assert user_ids(fs, uid="later") == [user_id]
    assert user_ids(fs, is_identified="true") == [user_id]
    assert create(fs, uid="later") == user_id


def test_update_does_not_take_an_idempotency_key(fs: httpx.Client) -> None:
    user_id = create(fs, uid="u-1")
    keyed = {"Idempotency-Key": "update-key"}

    first = fs.post(f"/v2/users/{user_id}", json={"properties": {"n": 1}}, headers=keyed)
    fs.post(f"/v2/users/{user_id}", json={"properties": {"n": 2}})
    again = fs.post(f"/v2/users/{user_id}", json={"properties": {"n": 1}}, headers=keyed)

    assert first.status_code == again.status_code == 200
    assert REPLAY_HEADER not in again.headers
    assert fetch(fs, user_id)["properties"] == {"n": 1}  # the repeated update ran again
    other_body = fs.post(f"/v2/users/{user_id}", json={"properties": {"n": 3}}, headers=keyed)
    assert other_body.status_code == 200
    assert fetch(fs, user_id)["properties"] == {"n": 3}


def test_update_of_an_unknown_id_is_404(fs: httpx.Client) -> None:
    response = fs.post("/v2/users/123456789", json={"display_name": "Nobody"})

    assert response.status_code == 404
    assert response.json() == NOT_FOUND
    assert listing(fs)["total_records"] == "0"


# ---- delete --------------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["id", "uid"])
def test_delete_marks_the_user_then_it_is_gone(
    sandbox: Sandbox, fs: httpx.Client, how: str
) -> None:
    sandbox.configure(deletion_window_s=0.2)
    user_id = create(fs, uid="gone", properties={"a": 1})
    started = time.monotonic()

    if how == "id":
        response = fs.delete(f"/v2/users/{user_id}")
    else:
        response = fs.delete("/v2/users", params={"uid": "gone"})

    assert response.status_code == 200
    assert response.json() == {}
    marked = fs.get(f"/v2/users/{user_id}")
    assert marked.status_code == 200
    assert marked.json()["is_being_deleted"] is True
    wait_until(
        lambda: fs.get(f"/v2/users/{user_id}").status_code == 404,
        what="the deleted user to be gone",
    )
    assert time.monotonic() - started >= 0.2
    assert fs.get(f"/v2/users/{user_id}").json() == NOT_FOUND
    assert listing(fs, uid="gone")["total_records"] == "0"


@pytest.mark.parametrize("params", [{}, {"uid": ""}])
def test_delete_without_uid_is_refused(fs: httpx.Client, params: dict[str, str]) -> None:
    user_id = create(fs, uid="u-1")

    response = fs.delete("/v2/users", params=params)

    assert response.status_code == 400
    assert response.json() == {"code": "required_field", "message": "uid is required"}
    assert fetch(fs, user_id)["is_being_deleted"] is False


@pytest.mark.parametrize(
    ("path", "params"), [("/v2/users/123456789", {}), ("/v2/users", {"uid": "nobody"})]
)
def test_delete_of_an_unknown_user_is_404(
    fs: httpx.Client, path: str, params: dict[str, str]
) -> None:
    create(fs, uid="somebody")

    response = fs.delete(path, params=params)

    assert response.status_code == 404
    assert response.json() == NOT_FOUND


def test_create_with_the_uid_of_a_user_being_deleted_makes_a_new_user(
    sandbox: Sandbox, fs: httpx.Client
) -> None:
    sandbox.configure(deletion_window_s=30)
    old = create(fs, uid="phoenix", properties={"life": 1})
    assert fs.delete(f"/v2/users/{old}").status_code == 200

    new = create(fs, uid="phoenix", properties={"life": 2})

    assert new != old
    reborn = fetch(fs, new)
    assert (reborn["uid"], reborn["is_being_deleted"]) == ("phoenix", False)
    assert reborn["properties"] == {"life": 2}
    assert fetch(fs, old)["is_being_deleted"] is True
    assert create(fs, uid="phoenix") == new


# ---- property rules ------------------------------------------------------------------------------

LONG_PATH = {"a" * 300: {"b" * 300: 1}}


@pytest.mark.parametrize(
    ("properties", "schema", "named"),
    [
        pytest.param({"1st": 1}, None, "1st", id="leading-digit"),
        pytest.param({"first-name": "x"}, None, "first-name", id="dash"),
        pytest.param({"": 1}, None, "property name", id="empty-name"),
        pytest.param({"outer": {"in-ner": 1}}, None, "outer.in-ner", id="nested-bad-name"),
        pytest.param({"n" * 513: 1}, None, "n" * 513, id="name-over-512"),
        pytest.param(LONG_PATH, None, f"{'a' * 300}.{'b' * 300}", id="dotted-path-over-512"),
        pytest.param({f"p{i}": i for i in range(501)}, None, "500", id="501-properties"),
        pytest.param(
            {"a": {f"p{i}": i for i in range(300)}, "b": {f"p{i}": i for i in range(201)}},
            None,
            "500",
            id="501-nested-properties",
        ),
        pytest.param({"bio": "x" * 8193}, None, "bio", id="value-over-8192-bytes"),
        pytest.param({"bio": "é" * 4097}, None, "bio", id="utf8-value-over-8192-bytes"),
        pytest.param({"tags": ["x" * 100] * 90}, None, "tags", id="array-over-8192-bytes"),
        pytest.param({"items": [{"sku": "a"}]}, None, "items", id="array-of-objects"),
        pytest.param({"matrix": [[1, 2]]}, None, "matrix", id="array-of-arrays"),
        pytest.param({"mixed": [1, "a"]}, None, "mixed", id="mixed-array"),
        pytest.param({"days": 3}, {"days": "integer"}, "days", id="unknown-declared-type"),
        pytest.param({"days": "three"}, {"days": "int"}, "days", id="int-mismatch"),
        pytest.param({"days": 2.5}, {"days": "int"}, "days", id="int-not-whole"),
        pytest.param({"tags": "a"}, {"tags": "strs"}, "tags", id="list-type-mismatch"),
        pytest.param({"when": "soon"}, {"when": "date"}, "when", id="date-mismatch"),
        pytest.param({"loc": {"zip": 7}}, {"loc.zip": "str"}, "loc.zip", id="nested-mismatch"),
    ],
)
def test_property_rules(
    fs: httpx.Client, properties: dict[str, Any], schema: dict[str, str] | None, named: str
) -> None:
    body: dict[str, Any] = {"uid": "u-1", "properties": properties}
    if schema is not None:
        body["schema"] = {"properties": schema}

    response = fs.post("/v2/users", json=body)

    assert_error(response, 400, "invalid_argument", named)
    assert listing(fs)["total_records"] == "0"


def test_property_limits_are_inclusive(fs: httpx.Client) -> None:
    properties = {
        **{f"p{i}": i for i in range(496)},
        "bio": "é" * 4096,
        "n" * 512: 1,
        "a" * 255: {"b" * 256: True},
        "tags": ["x"] * 10,
    }

    user_id = create(fs, uid="u-1", properties=properties)

    assert fetch(fs, user_id)["properties"] == properties


def test_property_rules_apply_to_updates(fs: httpx.Client) -> None:
    user_id = create(fs, uid="u-1", properties={"ok": 1})

    response = fs.post(f"/v2/users/{user_id}", json={"properties": {"items": [{"a": 1}]}})

    assert_error(response, 400, "invalid_argument", "items")
    assert fetch(fs, user_id)["properties"] == {"ok": 1}


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_numbers_in_the_body_are_refused(fs: httpx.Client, constant: str) -> None:
    raw = f'{{"uid": "u-1", "properties": {{"x": {constant}}}}}'.encode()

    response = fs.post("/v2/users", content=raw, headers={"Content-Type": "application/json"})

    assert_error(response, 400, "invalid_argument")
    assert listing(fs)["total_records"] == "0"


# ---- the /v2beta alias ---------------------------------------------------------------------------


def test_v2beta_is_an_alias_of_v2(fs: httpx.Client) -> None:
    created = fs.post("/v2beta/users", json={"uid": "beta", "properties": {"a": 1}})
    assert created.status_code == 200
    user_id = created.json()["id"]

    assert create(fs, uid="beta") == user_id
    assert fs.post(f"/v2beta/users/{user_id}", json={"properties": {"b": 2}}).status_code == 200
    beta = fs.get(f"/v2beta/users/{user_id}", params={"include_schema": "true"}).json()
    assert beta == fetch(fs, user_id, include_schema="true")
    assert beta["properties"] == {"a": 1, "b": 2}
    assert fs.get("/v2beta/users", params={"uid": "beta"}).json() == listing(fs, uid="beta")
    assert fs.get("/v2beta/users/123456789").json() == NOT_FOUND
    deleted = fs.delete("/v2beta/users", params={"uid": "beta"})
    assert (deleted.status_code, deleted.json()) == (200, {})
    assert fetch(fs, user_id)["is_being_deleted"] is True


# ---- Idempotency-Key on POST /v2/users -----------------------------------------------------------


def test_same_key_and_same_body_replays_the_first_answer(fs: httpx.Client) -> None:
    key = {"Idempotency-Key": "key-1", "Content-Type": "application/json"}

    first = fs.post("/v2/users", content=b'{"display_name": "Ann", "email": "a@x.io"}', headers=key)
    # The same JSON, spelled differently: bodies are compared as parsed JSON.
    again = fs.post("/v2/users", content=b'{"email":"a@x.io","display_name":"Ann"}', headers=key)

    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert REPLAY_HEADER not in first.headers
    assert again.headers[REPLAY_HEADER] == "true"
    assert user_ids(fs) == [first.json()["id"]]


def test_same_key_with_another_body_is_refused(fs: httpx.Client) -> None:
    key = {"Idempotency-Key": "key-1"}
    first = fs.post("/v2/users", json={"display_name": "Ann"}, headers=key)

    other = fs.post("/v2/users", json={"display_name": "Bob"}, headers=key)

    assert other.status_code == 400
    assert other.json() == {"code": "invalid_argument", "message": REUSED_KEY_MESSAGE}
    assert user_ids(fs) == [first.json()["id"]]
    assert listing(fs, display_name="Bob")["total_records"] == "0"


def test_a_400_answer_is_kept_and_replayed(fs: httpx.Client) -> None:
    key = {"Idempotency-Key": "key-1"}
    body = {"uid": "x" * 257}

    first = fs.post("/v2/users", json=body, headers=key)
    again = fs.post("/v2/users", json=body, headers=key)

    assert_error(first, 400, "invalid_argument", "uid")
    assert (again.status_code, again.json()) == (400, first.json())
    assert again.headers[REPLAY_HEADER] == "true"


@pytest.mark.parametrize(("fate", "status"), [("error", 500), ("rate_limit", 429)])
def test_a_retryable_answer_is_not_kept(
    sandbox: Sandbox, fs: httpx.Client, fate: str, status: int
) -> None:
    sandbox.set_faults(script=[fate])
    key = {"Idempotency-Key": "key-1"}
    body = {"uid": "u-1", "display_name": "Ann"}

    failed = fs.post("/v2/users", json=body, headers=key)
    retried = fs.post("/v2/users", json=body, headers=key)
    replayed = fs.post("/v2/users", json=body, headers=key)

    assert failed.status_code == status
    assert listing(fs)["total_records"] == "1"  # the retry created the user, once
    assert retried.status_code == 200
    assert REPLAY_HEADER not in retried.headers
    assert replayed.headers[REPLAY_HEADER] == "true"
    assert replayed.json() == retried.json()
    assert user_ids(fs) == [retried.json()["id"]]


def test_keys_are_scoped_per_api_key(sandbox: Sandbox, fs: httpx.Client) -> None:
    key = {"Idempotency-Key": "shared-key"}
    body = {"display_name": "Guest"}
    with httpx.Client(
        base_url=sandbox.url, headers={"Authorization": "Basic another-key"}, timeout=30.0
    ) as other:
        mine = fs.post("/v2/users", json=body, headers=key)
        theirs = other.post("/v2/users", json=body, headers=key)
        theirs_again = other.post("/v2/users", json=body, headers=key)

    assert mine.status_code == theirs.status_code == 200
    assert REPLAY_HEADER not in theirs.headers
    assert mine.json()["id"] != theirs.json()["id"]
    assert theirs_again.json() == theirs.json()
    assert fs.post("/v2/users", json=body, headers=key).json() == mine.json()
    assert listing(fs)["total_records"] == "2"


def test_keys_expire_after_the_ttl(sandbox: Sandbox, fs: httpx.Client) -> None:
    sandbox.configure(idempotency_ttl_s=0.2)
    key = {"Idempotency-Key": "key-1"}
    started = time.monotonic()
    first = fs.post("/v2/users", json={"display_name": "Ann"}, headers=key)
    assert fs.post("/v2/users", json={"display_name": "Ann"}, headers=key).headers[REPLAY_HEADER]

    answers: list[httpx.Response] = []

    def reusable() -> bool:
        answers.append(fs.post("/v2/users", json={"display_name": "Bob"}, headers=key))
        return answers[-1].status_code != 400

    wait_until(reusable, what="the key to be usable again")

    assert time.monotonic() - started >= 0.2
    assert answers[-1].status_code == 200
    assert REPLAY_HEADER not in answers[-1].headers
    assert answers[-1].json()["id"] != first.json()["id"]
    assert listing(fs)["total_records"] == "2"

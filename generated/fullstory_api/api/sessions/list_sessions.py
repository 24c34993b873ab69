from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_response import ErrorResponse
from ...models.list_sessions_response import ListSessionsResponse
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    uid: str | Unset = UNSET,
    email: str | Unset = UNSET,
    session_uid: str | Unset = UNSET,
    limit: int | Unset = UNSET,
    integration_source: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(integration_source, Unset):
        headers["Integration-Source"] = integration_source

    params: dict[str, Any] = {}

    params["uid"] = uid

    params["email"] = email

    params["session_uid"] = session_uid

    params["limit"] = limit

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v2/sessions",
        "params": params,
    }

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorResponse | ListSessionsResponse | None:
    if response.status_code == 200:
        response_200 = ListSessionsResponse.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = ErrorResponse.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = ErrorResponse.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = ErrorResponse.from_dict(response.json())

        return response_403

    if response.status_code == 404:
        response_404 = ErrorResponse.from_dict(response.json())

        return response_404

    if response.status_code == 429:
        response_429 = ErrorResponse.from_dict(response.json())

        return response_429

    if response.status_code == 500:
        response_500 = ErrorResponse.from_dict(response.json())

        return response_500

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[ErrorResponse | ListSessionsResponse]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    uid: str | Unset = UNSET,
    email: str | Unset = UNSET,
    session_uid: str | Unset = UNSET,
    limit: int | Unset = UNSET,
    integration_source: str | Unset = UNSET,
) -> Response[ErrorResponse | ListSessionsResponse]:
    """The most recent sessions of a user, with links to their replays.

     Look sessions up by the user's `uid`, by `email`, or both (the answer is then the union of
    both lookups; one of them is usually enough). `session_uid` instead finds the one session
    that was given this id of yours when it started; it cannot be combined with `uid` or
    `email`. At least one of the three is required. There is one page only, newest first.

    Args:
        uid (str | Unset):
        email (str | Unset):
        session_uid (str | Unset):
        limit (int | Unset):
        integration_source (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorResponse | ListSessionsResponse]
    """

    kwargs = _get_kwargs(
        uid=uid,
        email=email,
        session_uid=session_uid,
        limit=limit,
        integration_source=integration_source,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    uid: str | Unset = UNSET,
    email: str | Unset = UNSET,
    session_uid: str | Unset = UNSET,
    limit: int | Unset = UNSET,
    integration_source: str | Unset = UNSET,
) -> ErrorResponse | ListSessionsResponse | None:
    """The most recent sessions of a user, with links to their replays.

     Look sessions up by the user's `uid`, by `email`, or both (the answer is then the union of
    both lookups; one of them is usually enough). `session_uid` instead finds the one session
    that was given this id of yours when it started; it cannot be combined with `uid` or
    `email`. At least one of the three is required. There is one page only, newest first.

    Args:
        uid (str | Unset):
        email (str | Unset):
        session_uid (str | Unset):
        limit (int | Unset):
        integration_source (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorResponse | ListSessionsResponse
    """

    return sync_detailed(
        client=client,
        uid=uid,
        email=email,
        session_uid=session_uid,
        limit=limit,
        integration_source=integration_source,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    uid: str | Unset = UNSET,
    email: str | Unset = UNSET,
    session_uid: str | Unset = UNSET,
    limit: int | Unset = UNSET,
    integration_source: str | Unset = UNSET,
) -> Response[ErrorResponse | ListSessionsResponse]:
    """The most recent sessions of a user, with links to their replays.

     Look sessions up by the user's `uid`, by `email`, or both (the answer is then the union of
    both lookups; one of them is usually enough). `session_uid` instead finds the one session
    that was given this id of yours when it started; it cannot be combined with `uid` or
    `email`. At least one of the three is required. There is one page only, newest first.

    Args:
        uid (str | Unset):
        email (str | Unset):
        session_uid (str | Unset):
        limit (int | Unset):
        integration_source (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorResponse | ListSessionsResponse]
    """

    kwargs = _get_kwargs(
        uid=uid,
        email=email,
        session_uid=session_uid,
        limit=limit,
        integration_source=integration_source,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    uid: str | Unset = UNSET,
    email: str | Unset = UNSET,
    session_uid: str | Unset = UNSET,
    limit: int | Unset = UNSET,
    integration_source: str | Unset = UNSET,
) -> ErrorResponse | ListSessionsResponse | None:
    """The most recent sessions of a user, with links to their replays.

     Look sessions up by the user's `uid`, by `email`, or both (the answer is then the union of
    both lookups; one of them is usually enough). `session_uid` instead finds the one session
    that was given this id of yours when it started; it cannot be combined with `uid` or
    `email`. At least one of the three is required. There is one page only, newest first.

    Args:
        uid (str | Unset):
        email (str | Unset):
        session_uid (str | Unset):
        limit (int | Unset):
        integration_source (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorResponse | ListSessionsResponse
    """

    return (
        await asyncio_detailed(
            client=client,
            uid=uid,
            email=email,
            session_uid=session_uid,
            limit=limit,
            integration_source=integration_source,
        )
    ).parsed

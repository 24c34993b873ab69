from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.delete_user_response import DeleteUserResponse
from ...models.error_response import ErrorResponse
from ...types import UNSET, Response, Unset


def _get_kwargs(
    id: str,
    *,
    uid: str | Unset = UNSET,
    integration_source: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(integration_source, Unset):
        headers["Integration-Source"] = integration_source

    params: dict[str, Any] = {}

    params["uid"] = uid

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "delete",
        "url": "/v2/users/{id}".format(
            id=quote(str(id), safe=""),
        ),
        "params": params,
    }

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> DeleteUserResponse | ErrorResponse | None:
    if response.status_code == 200:
        response_200 = DeleteUserResponse.from_dict(response.json())

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
) -> Response[DeleteUserResponse | ErrorResponse]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    id: str,
    *,
    client: AuthenticatedClient | Client,
    uid: str | Unset = UNSET,
    integration_source: str | Unset = UNSET,
) -> Response[DeleteUserResponse | ErrorResponse]:
    """Delete the user with this FullStory id, with all of their sessions, events and properties.

     Deletion is permanent and asynchronous. With `uid` in the query the user with that uid is
    deleted and the id in the path does not matter: the API documents this form of the delete
    by uid today, next to the older `DELETE /v2/users?uid=`. Needs an Architect or Admin key.

    Args:
        id (str):
        uid (str | Unset):
        integration_source (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[DeleteUserResponse | ErrorResponse]
    """

    kwargs = _get_kwargs(
        id=id,
        uid=uid,
        integration_source=integration_source,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    id: str,
    *,
    client: AuthenticatedClient | Client,
    uid: str | Unset = UNSET,
    integration_source: str | Unset = UNSET,
) -> DeleteUserResponse | ErrorResponse | None:
    """Delete the user with this FullStory id, with all of their sessions, events and properties.

     Deletion is permanent and asynchronous. With `uid` in the query the user with that uid is
    deleted and the id in the path does not matter: the API documents this form of the delete
    by uid today, next to the older `DELETE /v2/users?uid=`. Needs an Architect or Admin key.

    Args:
        id (str):
        uid (str | Unset):
        integration_source (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        DeleteUserResponse | ErrorResponse
    """

    return sync_detailed(
        id=id,
        client=client,
        uid=uid,
        integration_source=integration_source,
    ).parsed


async def asyncio_detailed(
    id: str,
    *,
    client: AuthenticatedClient | Client,
    uid: str | Unset = UNSET,
    integration_source: str | Unset = UNSET,
) -> Response[DeleteUserResponse | ErrorResponse]:
    """Delete the user with this FullStory id, with all of their sessions, events and properties.

     Deletion is permanent and asynchronous. With `uid` in the query the user with that uid is
    deleted and the id in the path does not matter: the API documents this form of the delete
    by uid today, next to the older `DELETE /v2/users?uid=`. Needs an Architect or Admin key.

    Args:
        id (str):
        uid (str | Unset):
        integration_source (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[DeleteUserResponse | ErrorResponse]
    """

    kwargs = _get_kwargs(
        id=id,
        uid=uid,
        integration_source=integration_source,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    id: str,
    *,
    client: AuthenticatedClient | Client,
    uid: str | Unset = UNSET,
    integration_source: str | Unset = UNSET,
) -> DeleteUserResponse | ErrorResponse | None:
    """Delete the user with this FullStory id, with all of their sessions, events and properties.

     Deletion is permanent and asynchronous. With `uid` in the query the user with that uid is
    deleted and the id in the path does not matter: the API documents this form of the delete
    by uid today, next to the older `DELETE /v2/users?uid=`. Needs an Architect or Admin key.

    Args:
        id (str):
        uid (str | Unset):
        integration_source (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        DeleteUserResponse | ErrorResponse
    """

    return (
        await asyncio_detailed(
            id=id,
            client=client,
            uid=uid,
            integration_source=integration_source,
        )
    ).parsed

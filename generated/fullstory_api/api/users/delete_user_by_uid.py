from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.delete_user_response import DeleteUserResponse
from ...models.error_response import ErrorResponse
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    uid: str,
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
        "url": "/v2/users",
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
    *,
    client: AuthenticatedClient | Client,
    uid: str,
    integration_source: str | Unset = UNSET,
) -> Response[DeleteUserResponse | ErrorResponse]:
    """Delete the user that carries this uid, with all of their sessions, events and properties.

     Deletion is permanent and runs asynchronously: for a while afterwards the user may still be
    readable, with `is_being_deleted` set. Needs an Architect or Admin key.

    Args:
        uid (str):
        integration_source (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[DeleteUserResponse | ErrorResponse]
    """

    kwargs = _get_kwargs(
        uid=uid,
        integration_source=integration_source,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    uid: str,
    integration_source: str | Unset = UNSET,
) -> DeleteUserResponse | ErrorResponse | None:
    """Delete the user that carries this uid, with all of their sessions, events and properties.

     Deletion is permanent and runs asynchronously: for a while afterwards the user may still be
    readable, with `is_being_deleted` set. Needs an Architect or Admin key.

    Args:
        uid (str):
        integration_source (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        DeleteUserResponse | ErrorResponse
    """

    return sync_detailed(
        client=client,
        uid=uid,
        integration_source=integration_source,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    uid: str,
    integration_source: str | Unset = UNSET,
) -> Response[DeleteUserResponse | ErrorResponse]:
    """Delete the user that carries this uid, with all of their sessions, events and properties.

     Deletion is permanent and runs asynchronously: for a while afterwards the user may still be
    readable, with `is_being_deleted` set. Needs an Architect or Admin key.

    Args:
        uid (str):
        integration_source (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[DeleteUserResponse | ErrorResponse]
    """

    kwargs = _get_kwargs(
        uid=uid,
        integration_source=integration_source,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    uid: str,
    integration_source: str | Unset = UNSET,
) -> DeleteUserResponse | ErrorResponse | None:
    """Delete the user that carries this uid, with all of their sessions, events and properties.

     Deletion is permanent and runs asynchronously: for a while afterwards the user may still be
    readable, with `is_being_deleted` set. Needs an Architect or Admin key.

    Args:
        uid (str):
        integration_source (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        DeleteUserResponse | ErrorResponse
    """

    return (
        await asyncio_detailed(
            client=client,
            uid=uid,
            integration_source=integration_source,
        )
    ).parsed

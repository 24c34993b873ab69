from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_response import ErrorResponse
from ...models.user_stream_status_response import UserStreamStatusResponse
from ...types import UNSET, Response, Unset


def _get_kwargs(
    request_id: str,
    *,
    integration_source: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(integration_source, Unset):
        headers["Integration-Source"] = integration_source

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v2/users/stream/{request_id}".format(
            request_id=quote(str(request_id), safe=""),
        ),
    }

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorResponse | UserStreamStatusResponse | None:
    if response.status_code == 200:
        response_200 = UserStreamStatusResponse.from_dict(response.json())

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
) -> Response[ErrorResponse | UserStreamStatusResponse]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    request_id: str,
    *,
    client: AuthenticatedClient | Client,
    integration_source: str | Unset = UNSET,
) -> Response[ErrorResponse | UserStreamStatusResponse]:
    """Where a queued user create stands; the user's id once it is done.

     While the create is still queued the `id` is an empty string; once it is done, the
    FullStory id of the user. Needs an Architect or Admin key.

    Args:
        request_id (str):
        integration_source (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorResponse | UserStreamStatusResponse]
    """

    kwargs = _get_kwargs(
        request_id=request_id,
        integration_source=integration_source,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    request_id: str,
    *,
    client: AuthenticatedClient | Client,
    integration_source: str | Unset = UNSET,
) -> ErrorResponse | UserStreamStatusResponse | None:
    """Where a queued user create stands; the user's id once it is done.

     While the create is still queued the `id` is an empty string; once it is done, the
    FullStory id of the user. Needs an Architect or Admin key.

    Args:
        request_id (str):
        integration_source (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorResponse | UserStreamStatusResponse
    """

    return sync_detailed(
        request_id=request_id,
        client=client,
        integration_source=integration_source,
    ).parsed


async def asyncio_detailed(
    request_id: str,
    *,
    client: AuthenticatedClient | Client,
    integration_source: str | Unset = UNSET,
) -> Response[ErrorResponse | UserStreamStatusResponse]:
    """Where a queued user create stands; the user's id once it is done.

     While the create is still queued the `id` is an empty string; once it is done, the
    FullStory id of the user. Needs an Architect or Admin key.

    Args:
        request_id (str):
        integration_source (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorResponse | UserStreamStatusResponse]
    """

    kwargs = _get_kwargs(
        request_id=request_id,
        integration_source=integration_source,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    request_id: str,
    *,
    client: AuthenticatedClient | Client,
    integration_source: str | Unset = UNSET,
) -> ErrorResponse | UserStreamStatusResponse | None:
    """Where a queued user create stands; the user's id once it is done.

     While the create is still queued the `id` is an empty string; once it is done, the
    FullStory id of the user. Needs an Architect or Admin key.

    Args:
        request_id (str):
        integration_source (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorResponse | UserStreamStatusResponse
    """

    return (
        await asyncio_detailed(
            request_id=request_id,
            client=client,
            integration_source=integration_source,
        )
    ).parsed

from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.create_user_request import CreateUserRequest
from ...models.create_user_stream_response import CreateUserStreamResponse
from ...models.error_response import ErrorResponse
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    body: CreateUserRequest,
    idempotency_key: str | Unset = UNSET,
    integration_source: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(idempotency_key, Unset):
        headers["Idempotency-Key"] = idempotency_key

    if not isinstance(integration_source, Unset):
        headers["Integration-Source"] = integration_source

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v2/users/stream",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> CreateUserStreamResponse | ErrorResponse | None:
    if response.status_code == 200:
        response_200 = CreateUserStreamResponse.from_dict(response.json())

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
) -> Response[CreateUserStreamResponse | ErrorResponse]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: CreateUserRequest,
    idempotency_key: str | Unset = UNSET,
    integration_source: str | Unset = UNSET,
) -> Response[CreateUserStreamResponse | ErrorResponse]:
    """Queue a user create (or upsert by uid) and get a request id back at once.

     The same body and upsert rule as creating a user, processed asynchronously: the answer
    carries only a request id. Follow it with the stream status operation, which gives the
    user's FullStory id once the create is done.

    Args:
        idempotency_key (str | Unset):
        integration_source (str | Unset):
        body (CreateUserRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CreateUserStreamResponse | ErrorResponse]
    """

    kwargs = _get_kwargs(
        body=body,
        idempotency_key=idempotency_key,
        integration_source=integration_source,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    body: CreateUserRequest,
    idempotency_key: str | Unset = UNSET,
    integration_source: str | Unset = UNSET,
) -> CreateUserStreamResponse | ErrorResponse | None:
    """Queue a user create (or upsert by uid) and get a request id back at once.

     The same body and upsert rule as creating a user, processed asynchronously: the answer
    carries only a request id. Follow it with the stream status operation, which gives the
    user's FullStory id once the create is done.

    Args:
        idempotency_key (str | Unset):
        integration_source (str | Unset):
        body (CreateUserRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CreateUserStreamResponse | ErrorResponse
    """

    return sync_detailed(
        client=client,
        body=body,
        idempotency_key=idempotency_key,
        integration_source=integration_source,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: CreateUserRequest,
    idempotency_key: str | Unset = UNSET,
    integration_source: str | Unset = UNSET,
) -> Response[CreateUserStreamResponse | ErrorResponse]:
    """Queue a user create (or upsert by uid) and get a request id back at once.

     The same body and upsert rule as creating a user, processed asynchronously: the answer
    carries only a request id. Follow it with the stream status operation, which gives the
    user's FullStory id once the create is done.

    Args:
        idempotency_key (str | Unset):
        integration_source (str | Unset):
        body (CreateUserRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CreateUserStreamResponse | ErrorResponse]
    """

    kwargs = _get_kwargs(
        body=body,
        idempotency_key=idempotency_key,
        integration_source=integration_source,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: CreateUserRequest,
    idempotency_key: str | Unset = UNSET,
    integration_source: str | Unset = UNSET,
) -> CreateUserStreamResponse | ErrorResponse | None:
    """Queue a user create (or upsert by uid) and get a request id back at once.

     The same body and upsert rule as creating a user, processed asynchronously: the answer
    carries only a request id. Follow it with the stream status operation, which gives the
    user's FullStory id once the create is done.

    Args:
        idempotency_key (str | Unset):
        integration_source (str | Unset):
        body (CreateUserRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CreateUserStreamResponse | ErrorResponse
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
            idempotency_key=idempotency_key,
            integration_source=integration_source,
        )
    ).parsed

from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_response import ErrorResponse
from ...models.events_accepted import EventsAccepted
from ...models.events_request import EventsRequest
from ...types import UNSET, Response


def _get_kwargs(
    *,
    body: EventsRequest,
    pid: str,
    group: str,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    params: dict[str, Any] = {}

    params["pid"] = pid

    params["group"] = group

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/events/backend",
        "params": params,
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorResponse | EventsAccepted | None:
    if response.status_code == 200:
        response_200 = EventsAccepted.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = ErrorResponse.from_dict(response.json())

        return response_400

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
) -> Response[ErrorResponse | EventsAccepted]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: EventsRequest,
    pid: str,
    group: str,
) -> Response[ErrorResponse | EventsAccepted]:
    """Record a batch of custom events.

     Sent to the analytics host named by the check answer, with that answer's project id and
    store group in the query. Any 2xx means the whole batch was accepted.

    Args:
        pid (str):
        group (str):
        body (EventsRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorResponse | EventsAccepted]
    """

    kwargs = _get_kwargs(
        body=body,
        pid=pid,
        group=group,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    body: EventsRequest,
    pid: str,
    group: str,
) -> ErrorResponse | EventsAccepted | None:
    """Record a batch of custom events.

     Sent to the analytics host named by the check answer, with that answer's project id and
    store group in the query. Any 2xx means the whole batch was accepted.

    Args:
        pid (str):
        group (str):
        body (EventsRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorResponse | EventsAccepted
    """

    return sync_detailed(
        client=client,
        body=body,
        pid=pid,
        group=group,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: EventsRequest,
    pid: str,
    group: str,
) -> Response[ErrorResponse | EventsAccepted]:
    """Record a batch of custom events.

     Sent to the analytics host named by the check answer, with that answer's project id and
    store group in the query. Any 2xx means the whole batch was accepted.

    Args:
        pid (str):
        group (str):
        body (EventsRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorResponse | EventsAccepted]
    """

    kwargs = _get_kwargs(
        body=body,
        pid=pid,
        group=group,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: EventsRequest,
    pid: str,
    group: str,
) -> ErrorResponse | EventsAccepted | None:
    """Record a batch of custom events.

     Sent to the analytics host named by the check answer, with that answer's project id and
    store group in the query. Any 2xx means the whole batch was accepted.

    Args:
        pid (str):
        group (str):
        body (EventsRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorResponse | EventsAccepted
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
            pid=pid,
            group=group,
        )
    ).parsed

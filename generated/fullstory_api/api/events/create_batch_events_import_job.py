from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.create_batch_events_import_job_request import (
    CreateBatchEventsImportJobRequest,
)
from ...models.create_batch_events_import_job_response import (
    CreateBatchEventsImportJobResponse,
)
from ...models.error_response import ErrorResponse
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    body: CreateBatchEventsImportJobRequest,
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
        "url": "/v2/events/batch",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> CreateBatchEventsImportJobResponse | ErrorResponse | None:
    if response.status_code == 200:
        response_200 = CreateBatchEventsImportJobResponse.from_dict(response.json())

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
) -> Response[CreateBatchEventsImportJobResponse | ErrorResponse]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: CreateBatchEventsImportJobRequest,
    idempotency_key: str | Unset = UNSET,
    integration_source: str | Unset = UNSET,
) -> Response[CreateBatchEventsImportJobResponse | ErrorResponse]:
    """Start a job that records up to 50,000 events.

     `shared.context` applies to every item; an item that brings its own `context` as well fails
    on its own. The job is accepted at once and processed in the background.

    Args:
        idempotency_key (str | Unset):
        integration_source (str | Unset):
        body (CreateBatchEventsImportJobRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CreateBatchEventsImportJobResponse | ErrorResponse]
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
    body: CreateBatchEventsImportJobRequest,
    idempotency_key: str | Unset = UNSET,
    integration_source: str | Unset = UNSET,
) -> CreateBatchEventsImportJobResponse | ErrorResponse | None:
    """Start a job that records up to 50,000 events.

     `shared.context` applies to every item; an item that brings its own `context` as well fails
    on its own. The job is accepted at once and processed in the background.

    Args:
        idempotency_key (str | Unset):
        integration_source (str | Unset):
        body (CreateBatchEventsImportJobRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CreateBatchEventsImportJobResponse | ErrorResponse
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
    body: CreateBatchEventsImportJobRequest,
    idempotency_key: str | Unset = UNSET,
    integration_source: str | Unset = UNSET,
) -> Response[CreateBatchEventsImportJobResponse | ErrorResponse]:
    """Start a job that records up to 50,000 events.

     `shared.context` applies to every item; an item that brings its own `context` as well fails
    on its own. The job is accepted at once and processed in the background.

    Args:
        idempotency_key (str | Unset):
        integration_source (str | Unset):
        body (CreateBatchEventsImportJobRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CreateBatchEventsImportJobResponse | ErrorResponse]
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
    body: CreateBatchEventsImportJobRequest,
    idempotency_key: str | Unset = UNSET,
    integration_source: str | Unset = UNSET,
) -> CreateBatchEventsImportJobResponse | ErrorResponse | None:
    """Start a job that records up to 50,000 events.

     `shared.context` applies to every item; an item that brings its own `context` as well fails
    on its own. The job is accepted at once and processed in the background.

    Args:
        idempotency_key (str | Unset):
        integration_source (str | Unset):
        body (CreateBatchEventsImportJobRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CreateBatchEventsImportJobResponse | ErrorResponse
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
            idempotency_key=idempotency_key,
            integration_source=integration_source,
        )
    ).parsed

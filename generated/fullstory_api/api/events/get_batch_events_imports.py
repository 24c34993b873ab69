from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_response import ErrorResponse
from ...models.get_batch_events_imports_response import GetBatchEventsImportsResponse
from ...models.job_results_pending import JobResultsPending
from ...types import UNSET, Response, Unset


def _get_kwargs(
    job_id: str,
    *,
    page_token: str | Unset = UNSET,
    include_schema: bool | Unset = UNSET,
    integration_source: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(integration_source, Unset):
        headers["Integration-Source"] = integration_source

    params: dict[str, Any] = {}

    params["page_token"] = page_token

    params["include_schema"] = include_schema

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v2/events/batch/{job_id}/imports".format(
            job_id=quote(str(job_id), safe=""),
        ),
        "params": params,
    }

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorResponse | GetBatchEventsImportsResponse | JobResultsPending | None:
    if response.status_code == 200:
        response_200 = GetBatchEventsImportsResponse.from_dict(response.json())

        return response_200

    if response.status_code == 202:
        response_202 = JobResultsPending.from_dict(response.json())

        return response_202

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
) -> Response[ErrorResponse | GetBatchEventsImportsResponse | JobResultsPending]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    job_id: str,
    *,
    client: AuthenticatedClient | Client,
    page_token: str | Unset = UNSET,
    include_schema: bool | Unset = UNSET,
    integration_source: str | Unset = UNSET,
) -> Response[ErrorResponse | GetBatchEventsImportsResponse | JobResultsPending]:
    """Page through the events a finished job recorded.

     Answers 202 while the job is still processing.

    Args:
        job_id (str):
        page_token (str | Unset):
        include_schema (bool | Unset):
        integration_source (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorResponse | GetBatchEventsImportsResponse | JobResultsPending]
    """

    kwargs = _get_kwargs(
        job_id=job_id,
        page_token=page_token,
        include_schema=include_schema,
        integration_source=integration_source,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    job_id: str,
    *,
    client: AuthenticatedClient | Client,
    page_token: str | Unset = UNSET,
    include_schema: bool | Unset = UNSET,
    integration_source: str | Unset = UNSET,
) -> ErrorResponse | GetBatchEventsImportsResponse | JobResultsPending | None:
    """Page through the events a finished job recorded.

     Answers 202 while the job is still processing.

    Args:
        job_id (str):
        page_token (str | Unset):
        include_schema (bool | Unset):
        integration_source (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorResponse | GetBatchEventsImportsResponse | JobResultsPending
    """

    return sync_detailed(
        job_id=job_id,
        client=client,
        page_token=page_token,
        include_schema=include_schema,
        integration_source=integration_source,
    ).parsed


async def asyncio_detailed(
    job_id: str,
    *,
    client: AuthenticatedClient | Client,
    page_token: str | Unset = UNSET,
    include_schema: bool | Unset = UNSET,
    integration_source: str | Unset = UNSET,
) -> Response[ErrorResponse | GetBatchEventsImportsResponse | JobResultsPending]:
    """Page through the events a finished job recorded.

     Answers 202 while the job is still processing.

    Args:
        job_id (str):
        page_token (str | Unset):
        include_schema (bool | Unset):
        integration_source (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorResponse | GetBatchEventsImportsResponse | JobResultsPending]
    """

    kwargs = _get_kwargs(
        job_id=job_id,
        page_token=page_token,
        include_schema=include_schema,
        integration_source=integration_source,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    job_id: str,
    *,
    client: AuthenticatedClient | Client,
    page_token: str | Unset = UNSET,
    include_schema: bool | Unset = UNSET,
    integration_source: str | Unset = UNSET,
) -> ErrorResponse | GetBatchEventsImportsResponse | JobResultsPending | None:
    """Page through the events a finished job recorded.

     Answers 202 while the job is still processing.

    Args:
        job_id (str):
        page_token (str | Unset):
        include_schema (bool | Unset):
        integration_source (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorResponse | GetBatchEventsImportsResponse | JobResultsPending
    """

    return (
        await asyncio_detailed(
            job_id=job_id,
            client=client,
            page_token=page_token,
            include_schema=include_schema,
            integration_source=integration_source,
        )
    ).parsed

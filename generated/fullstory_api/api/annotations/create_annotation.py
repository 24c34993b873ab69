from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.annotation import Annotation
from ...models.create_annotation_request import CreateAnnotationRequest
from ...models.error_response import ErrorResponse
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    body: CreateAnnotationRequest,
    integration_source: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(integration_source, Unset):
        headers["Integration-Source"] = integration_source

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v2/annotations",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Annotation | ErrorResponse | None:
    if response.status_code == 200:
        response_200 = Annotation.from_dict(response.json())

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
) -> Response[Annotation | ErrorResponse]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: CreateAnnotationRequest,
    integration_source: str | Unset = UNSET,
) -> Response[Annotation | ErrorResponse]:
    """Mark a moment or a span of time (a release, an incident) on FullStory's charts.

     Without `start_time` the annotation starts at the server's current time; without
    `end_time` it ends where it starts. This operation takes no Idempotency-Key; a retried
    create may store two annotations.

    Args:
        integration_source (str | Unset):
        body (CreateAnnotationRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Annotation | ErrorResponse]
    """

    kwargs = _get_kwargs(
        body=body,
        integration_source=integration_source,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    body: CreateAnnotationRequest,
    integration_source: str | Unset = UNSET,
) -> Annotation | ErrorResponse | None:
    """Mark a moment or a span of time (a release, an incident) on FullStory's charts.

     Without `start_time` the annotation starts at the server's current time; without
    `end_time` it ends where it starts. This operation takes no Idempotency-Key; a retried
    create may store two annotations.

    Args:
        integration_source (str | Unset):
        body (CreateAnnotationRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Annotation | ErrorResponse
    """

    return sync_detailed(
        client=client,
        body=body,
        integration_source=integration_source,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: CreateAnnotationRequest,
    integration_source: str | Unset = UNSET,
) -> Response[Annotation | ErrorResponse]:
    """Mark a moment or a span of time (a release, an incident) on FullStory's charts.

     Without `start_time` the annotation starts at the server's current time; without
    `end_time` it ends where it starts. This operation takes no Idempotency-Key; a retried
    create may store two annotations.

    Args:
        integration_source (str | Unset):
        body (CreateAnnotationRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Annotation | ErrorResponse]
    """

    kwargs = _get_kwargs(
        body=body,
        integration_source=integration_source,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: CreateAnnotationRequest,
    integration_source: str | Unset = UNSET,
) -> Annotation | ErrorResponse | None:
    """Mark a moment or a span of time (a release, an incident) on FullStory's charts.

     Without `start_time` the annotation starts at the server's current time; without
    `end_time` it ends where it starts. This operation takes no Idempotency-Key; a retried
    create may store two annotations.

    Args:
        integration_source (str | Unset):
        body (CreateAnnotationRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Annotation | ErrorResponse
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
            integration_source=integration_source,
        )
    ).parsed

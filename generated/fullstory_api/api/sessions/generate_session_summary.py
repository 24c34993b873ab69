import datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_response import ErrorResponse
from ...models.session_summary_response import SessionSummaryResponse
from ...types import UNSET, Response, Unset


def _get_kwargs(
    session_id: str,
    *,
    config_profile: str | Unset = UNSET,
    end_timestamp: datetime.datetime | Unset = UNSET,
    integration_source: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(integration_source, Unset):
        headers["Integration-Source"] = integration_source

    params: dict[str, Any] = {}

    params["config_profile"] = config_profile

    json_end_timestamp: str | Unset = UNSET
    if not isinstance(end_timestamp, Unset):
        json_end_timestamp = end_timestamp.isoformat()
    params["end_timestamp"] = json_end_timestamp

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v2/sessions/{session_id}/summary".format(
            session_id=quote(str(session_id), safe=""),
        ),
        "params": params,
    }

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorResponse | SessionSummaryResponse | None:
    if response.status_code == 200:
        response_200 = SessionSummaryResponse.from_dict(response.json())

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
) -> Response[ErrorResponse | SessionSummaryResponse]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    session_id: str,
    *,
    client: AuthenticatedClient | Client,
    config_profile: str | Unset = UNSET,
    end_timestamp: datetime.datetime | Unset = UNSET,
    integration_source: str | Unset = UNSET,
) -> Response[ErrorResponse | SessionSummaryResponse]:
    """A generated summary of a session, as a stored summary profile describes it.

     Without `config_profile`, a short synopsis of what the user went through. Use the POST
    form to change the profile's settings for one request.

    Args:
        session_id (str):
        config_profile (str | Unset):
        end_timestamp (datetime.datetime | Unset):
        integration_source (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorResponse | SessionSummaryResponse]
    """

    kwargs = _get_kwargs(
        session_id=session_id,
        config_profile=config_profile,
        end_timestamp=end_timestamp,
        integration_source=integration_source,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    session_id: str,
    *,
    client: AuthenticatedClient | Client,
    config_profile: str | Unset = UNSET,
    end_timestamp: datetime.datetime | Unset = UNSET,
    integration_source: str | Unset = UNSET,
) -> ErrorResponse | SessionSummaryResponse | None:
    """A generated summary of a session, as a stored summary profile describes it.

     Without `config_profile`, a short synopsis of what the user went through. Use the POST
    form to change the profile's settings for one request.

    Args:
        session_id (str):
        config_profile (str | Unset):
        end_timestamp (datetime.datetime | Unset):
        integration_source (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorResponse | SessionSummaryResponse
    """

    return sync_detailed(
        session_id=session_id,
        client=client,
        config_profile=config_profile,
        end_timestamp=end_timestamp,
        integration_source=integration_source,
    ).parsed


async def asyncio_detailed(
    session_id: str,
    *,
    client: AuthenticatedClient | Client,
    config_profile: str | Unset = UNSET,
    end_timestamp: datetime.datetime | Unset = UNSET,
    integration_source: str | Unset = UNSET,
) -> Response[ErrorResponse | SessionSummaryResponse]:
    """A generated summary of a session, as a stored summary profile describes it.

     Without `config_profile`, a short synopsis of what the user went through. Use the POST
    form to change the profile's settings for one request.

    Args:
        session_id (str):
        config_profile (str | Unset):
        end_timestamp (datetime.datetime | Unset):
        integration_source (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorResponse | SessionSummaryResponse]
    """

    kwargs = _get_kwargs(
        session_id=session_id,
        config_profile=config_profile,
        end_timestamp=end_timestamp,
        integration_source=integration_source,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    session_id: str,
    *,
    client: AuthenticatedClient | Client,
    config_profile: str | Unset = UNSET,
    end_timestamp: datetime.datetime | Unset = UNSET,
    integration_source: str | Unset = UNSET,
) -> ErrorResponse | SessionSummaryResponse | None:
    """A generated summary of a session, as a stored summary profile describes it.

     Without `config_profile`, a short synopsis of what the user went through. Use the POST
    form to change the profile's settings for one request.

    Args:
        session_id (str):
        config_profile (str | Unset):
        end_timestamp (datetime.datetime | Unset):
        integration_source (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorResponse | SessionSummaryResponse
    """

    return (
        await asyncio_detailed(
            session_id=session_id,
            client=client,
            config_profile=config_profile,
            end_timestamp=end_timestamp,
            integration_source=integration_source,
        )
    ).parsed

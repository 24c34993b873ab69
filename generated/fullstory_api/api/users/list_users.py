from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_response import ErrorResponse
from ...models.list_users_response import ListUsersResponse
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    uid: str | Unset = UNSET,
    email: str | Unset = UNSET,
    display_name: str | Unset = UNSET,
    is_identified: bool | Unset = UNSET,
    page_token: str | Unset = UNSET,
    include_schema: bool | Unset = UNSET,
    integration_source: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(integration_source, Unset):
        headers["Integration-Source"] = integration_source

    params: dict[str, Any] = {}

    params["uid"] = uid

    params["email"] = email

    params["display_name"] = display_name

    params["is_identified"] = is_identified

    params["page_token"] = page_token

    params["include_schema"] = include_schema

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v2/users",
        "params": params,
    }

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorResponse | ListUsersResponse | None:
    if response.status_code == 200:
        response_200 = ListUsersResponse.from_dict(response.json())

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
) -> Response[ErrorResponse | ListUsersResponse]:
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
    display_name: str | Unset = UNSET,
    is_identified: bool | Unset = UNSET,
    page_token: str | Unset = UNSET,
    include_schema: bool | Unset = UNSET,
    integration_source: str | Unset = UNSET,
) -> Response[ErrorResponse | ListUsersResponse]:
    """Find users by uid, email, display name or identification state, one page at a time.

     Filters are combined; without filters every user is listed. To read the next page, repeat
    the same filters and add the `next_page_token` of the previous answer as `page_token`.
    Needs an Architect or Admin key.

    Args:
        uid (str | Unset):
        email (str | Unset):
        display_name (str | Unset):
        is_identified (bool | Unset):
        page_token (str | Unset):
        include_schema (bool | Unset):
        integration_source (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorResponse | ListUsersResponse]
    """

    kwargs = _get_kwargs(
        uid=uid,
        email=email,
        display_name=display_name,
        is_identified=is_identified,
        page_token=page_token,
        include_schema=include_schema,
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
    display_name: str | Unset = UNSET,
    is_identified: bool | Unset = UNSET,
    page_token: str | Unset = UNSET,
    include_schema: bool | Unset = UNSET,
    integration_source: str | Unset = UNSET,
) -> ErrorResponse | ListUsersResponse | None:
    """Find users by uid, email, display name or identification state, one page at a time.

     Filters are combined; without filters every user is listed. To read the next page, repeat
    the same filters and add the `next_page_token` of the previous answer as `page_token`.
    Needs an Architect or Admin key.

    Args:
        uid (str | Unset):
        email (str | Unset):
        display_name (str | Unset):
        is_identified (bool | Unset):
        page_token (str | Unset):
        include_schema (bool | Unset):
        integration_source (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorResponse | ListUsersResponse
    """

    return sync_detailed(
        client=client,
        uid=uid,
        email=email,
        display_name=display_name,
        is_identified=is_identified,
        page_token=page_token,
        include_schema=include_schema,
        integration_source=integration_source,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    uid: str | Unset = UNSET,
    email: str | Unset = UNSET,
    display_name: str | Unset = UNSET,
    is_identified: bool | Unset = UNSET,
    page_token: str | Unset = UNSET,
    include_schema: bool | Unset = UNSET,
    integration_source: str | Unset = UNSET,
) -> Response[ErrorResponse | ListUsersResponse]:
    """Find users by uid, email, display name or identification state, one page at a time.

     Filters are combined; without filters every user is listed. To read the next page, repeat
    the same filters and add the `next_page_token` of the previous answer as `page_token`.
    Needs an Architect or Admin key.

    Args:
        uid (str | Unset):
        email (str | Unset):
        display_name (str | Unset):
        is_identified (bool | Unset):
        page_token (str | Unset):
        include_schema (bool | Unset):
        integration_source (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorResponse | ListUsersResponse]
    """

    kwargs = _get_kwargs(
        uid=uid,
        email=email,
        display_name=display_name,
        is_identified=is_identified,
        page_token=page_token,
        include_schema=include_schema,
        integration_source=integration_source,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    uid: str | Unset = UNSET,
    email: str | Unset = UNSET,
    display_name: str | Unset = UNSET,
    is_identified: bool | Unset = UNSET,
    page_token: str | Unset = UNSET,
    include_schema: bool | Unset = UNSET,
    integration_source: str | Unset = UNSET,
) -> ErrorResponse | ListUsersResponse | None:
    """Find users by uid, email, display name or identification state, one page at a time.

     Filters are combined; without filters every user is listed. To read the next page, repeat
    the same filters and add the `next_page_token` of the previous answer as `page_token`.
    Needs an Architect or Admin key.

    Args:
        uid (str | Unset):
        email (str | Unset):
        display_name (str | Unset):
        is_identified (bool | Unset):
        page_token (str | Unset):
        include_schema (bool | Unset):
        integration_source (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorResponse | ListUsersResponse
    """

    return (
        await asyncio_detailed(
            client=client,
            uid=uid,
            email=email,
            display_name=display_name,
            is_identified=is_identified,
            page_token=page_token,
            include_schema=include_schema,
            integration_source=integration_source,
        )
    ).parsed

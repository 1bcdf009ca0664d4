"""List paging as Google's AIP-158 describes it: pageSize, pageToken, nextPageToken."""

import base64

from orchestra_emulator.errors import invalid_argument

DEFAULT_PAGE_SIZE = 100


def page(items, page_size, page_token):
    """(items of the requested page, token of the next page or "")."""
    start = _offset(page_token)
    end = start + (page_size or DEFAULT_PAGE_SIZE)
    next_token = _token(end) if end < len(items) else ""
    return items[start:end], next_token


def _token(offset):
    return base64.urlsafe_b64encode(str(offset).encode()).decode()


def _offset(token):
    if not token:
        return 0
    try:
        return int(base64.urlsafe_b64decode(token.encode()).decode())
    except ValueError:
        raise invalid_argument("Invalid page token.", field="page_token") from None

"""Checks of our own for schemathesis (loaded with SCHEMATHESIS_HOOKS=hooks, PYTHONPATH=tests/security/fuzz).

Every 4xx and 5xx answer of the Bangban API is an RFC 9457 problem (application/problem+json) with a status
equal to the HTTP status and a title in Chinese and English; a client's mistake never panics a service.
"""

import json

import schemathesis


@schemathesis.check
def problem_document(ctx, response, case):
    """An error answer is a problem document that names its status and carries both languages (title zh-CN, title_en)."""
    if response.status_code < 400:
        return None
    media = response.headers.get("content-type", [""])
    media = media[0] if isinstance(media, list) else media
    if not media.startswith("application/problem+json"):
        raise AssertionError(f"{response.status_code} answered with {media!r}, not application/problem+json")
    try:
        body = json.loads(response.content or b"")
    except ValueError as e:
        raise AssertionError(f"{response.status_code} problem is not JSON: {e}")
    if body.get("status") != response.status_code:
        raise AssertionError(f"problem status {body.get('status')!r} differs from HTTP {response.status_code}")
    for key in ("type", "title", "title_en"):
        if not body.get(key):
            raise AssertionError(f"problem without {key!r}: {body}")
    return None

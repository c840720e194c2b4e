"""The HTTP API's 404 as a browser sees it under ``stratus dev``: AWS's answer, and a link to the console.

Only a page request (``GET`` with ``Accept: text/html``) gets it: fetch(), XHR, curl and SDKs get API Gateway's
exact ``{"message":"Not Found"}``. The status stays 404.
"""

from __future__ import annotations

from html import escape

from stratus.events.httpapi import HttpResponse

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>404 Not Found · stratus dev</title></head>
<body style="font: 15px system-ui, sans-serif; margin: 3em; color: #222">
<p>API Gateway answers <code>404 {{"message":"Not Found"}}</code>: no route of the HTTP API matches this path.</p>
<p>See the routes, the requests and what each function logged in the local console:
<a href="{url}">{url}</a></p>
<p style="color: #777">Only <code>stratus dev</code> shows this page, and only to browsers.</p>
</body></html>
"""


def not_found_page(console_url: str) -> HttpResponse:
    url = escape(console_url, quote=True)
    body = _PAGE.format(url=url).encode()
    return HttpResponse(404, [("content-type", "text/html; charset=utf-8")], body)

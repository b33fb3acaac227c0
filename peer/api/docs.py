"""Swagger UI served from the node itself (the swagger-ui-bundle wheel), so the API docs work on an offline kiosk.

FastAPI's default docs page loads Swagger UI from a CDN, which a kiosk without internet cannot reach. The
three files the page needs are read once and kept in memory (about 1.2 MB).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response

DOCS_URL = "/api/v1/docs"
ASSETS_URL = "/api/v1/docs/assets"
ASSETS = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon-32x32.png": "image/png",
}


@cache
def _asset(name: str) -> bytes:
    import swagger_ui_bundle

    return (Path(swagger_ui_bundle.swagger_ui_path) / name).read_bytes()


def install_docs(app: FastAPI, openapi_url: str) -> None:
    """Serve ``DOCS_URL`` with Swagger UI's script, style and icon from ``ASSETS_URL``."""

    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} - API",
            swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_URL}/favicon-32x32.png",
        )

    async def asset(name: str) -> Response:
        if name not in ASSETS:
            return Response(status_code=404)
        return Response(_asset(name), media_type=ASSETS[name], headers={"Cache-Control": "max-age=86400"})

    app.add_api_route(DOCS_URL, docs, include_in_schema=False, response_class=HTMLResponse)
    app.add_api_route(ASSETS_URL + "/{name}", asset, include_in_schema=False)

"""The verification portal every node serves at `/`: a static bundle in node/static/.

The page is plain HTML, CSS and twelve ES modules (portal.js reads the document
and wires the page, portal-links.js reads a link into its document, portal-verdict.js
draws the answer, portal-tables.js a document's course lines and grades as tables,
portal-warnings.js what a VC's check could not confirm (its warnings, and a status list
that could not be used), portal-employment.js says an
employment record's standing, portal-membership.js a retired issuer's, the
consortium's revocation and a grant or revocation made with a stolen key,
portal-recognition.js a recognition's courses and original,
portal-anchored.js a JSON file that is no credential, looked up as an anchored document,
and the caution of a VC naming its issuer otherwise than the chain,
portal-presentation.js a W3C presentation's verdict and each credential in it,
portal-files.js takes a file picked or dropped,
portal-language.js holds the words), with translations
for Kazakh, Russian and English (node/static/i18n/, which `senim verify` reads too:
node/i18n.py). The server's only part is to pick the first language from the browser's
Accept-Language (or `?lang=`) and to serve the bundle's files. The page keeps the
document in the browser and posts it only to a verify route (/v1/verify,
/credentials/verify for a W3C VC, /v1/verify/anchor for any other JSON file).

The holder's page (`/holder`, holder.js) makes the copy a graduate gives a reader: the
fields they untick hidden, in the browser, as `senim disclose` hides them, so the
document is not sent anywhere; and a link that opens the copy on this portal.
"""

from __future__ import annotations

from importlib import resources

from aiohttp import web

from node.i18n import DEFAULT_LANGUAGE, LANGUAGE_ALIASES
from node.i18n import LANGUAGES as LANGUAGES  # the portal's languages, as before

MAX_ACCEPT_LANGUAGE_ITEMS = 32
CONTENT_TYPES = {".html": "text/html", ".css": "text/css", ".js": "text/javascript",
                 ".json": "application/json"}
# Only the bundle's own files may load: no CDN, no outside fonts, no calls elsewhere.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
                               "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


def _load_bundle() -> dict[str, tuple[bytes, str]]:
    """Every file of node/static/ by its path under /static/, read once at start."""
    bundle: dict[str, tuple[bytes, str]] = {}
    root = resources.files("node") / "static"
    pending = [(root, "")]
    while pending:
        folder, prefix = pending.pop()
        for entry in folder.iterdir():
            if entry.is_dir():
                pending.append((entry, f"{prefix}{entry.name}/"))
                continue
            suffix = entry.name[entry.name.rfind("."):]
            if suffix in CONTENT_TYPES:
                bundle[prefix + entry.name] = (entry.read_bytes(), CONTENT_TYPES[suffix])
    return bundle


BUNDLE = _load_bundle()


def pick_language(accept_language: str | None, asked: str | None = None) -> str:
    """`?lang=` if it names a language we have, else the best Accept-Language match."""
    if asked and asked.lower() in LANGUAGE_ALIASES:
        return LANGUAGE_ALIASES[asked.lower()]
    ranked: list[tuple[float, int, str]] = []
    items = (accept_language or "").split(",")[:MAX_ACCEPT_LANGUAGE_ITEMS]
    for position, item in enumerate(items):
        tag, _, params = item.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        if primary not in LANGUAGE_ALIASES:
            continue
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0:
            ranked.append((-quality, position, LANGUAGE_ALIASES[primary]))
    return min(ranked)[2] if ranked else DEFAULT_LANGUAGE


# The pages, each served at its own path with the language put in, and the top they share
# (the language switch); none of them as a static file.
PAGES = {"/": "index.html", "/holder": "holder.html"}
PAGE_TOP = "top.html"


def page_html(language: str, page: str = "index.html") -> bytes:
    template, _ = BUNDLE[page]
    return template.replace(b"{{TOP}}", BUNDLE[PAGE_TOP][0]).replace(b"{{LANG}}",
                                                                     language.encode())


async def portal_page(request: web.Request) -> web.Response:
    language = pick_language(request.headers.get("Accept-Language"), request.query.get("lang"))
    body = page_html(language, PAGES[request.path])
    return web.Response(body=body, content_type="text/html", charset="utf-8",
                        headers={**SECURITY_HEADERS, "Vary": "Accept-Language",
                                 "Cache-Control": "no-cache", "Content-Language": language})


async def static_file(request: web.Request) -> web.Response:
    found = BUNDLE.get(request.match_info["path"])
    if found is None or request.match_info["path"] in (*PAGES.values(), PAGE_TOP):
        raise web.HTTPNotFound()
    body, content_type = found
    return web.Response(body=body, content_type=content_type, charset="utf-8",
                        headers={**SECURITY_HEADERS, "Cache-Control": "no-cache"})


def add_portal_routes(app: web.Application) -> None:
    for path in PAGES:
        app.router.add_get(path, portal_page)
    app.router.add_get("/static/{path:.+}", static_file)

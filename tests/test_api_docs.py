"""/docs works offline: Swagger UI from assets the service serves itself, no CDN."""

from html.parser import HTMLParser


class ResourceLinks(HTMLParser):
    """Every src= and href= in a page."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.links += [value for name, value in attrs if name in {"src", "href"} and value]


def links_in(page: str) -> list[str]:
    parser = ResourceLinks()
    parser.feed(page)
    return parser.links


async def test_the_reference_page_loads_only_local_assets(client):
    response = await client.get("/docs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    links = links_in(page)
    assert len(links) == 3  # the stylesheet, the icon and the script
    for link in links:
        assert link.startswith("/docs/assets/"), link
    assert "://" not in page.replace("window.location.origin", "")
    assert "url: '/openapi.json'" in page


async def test_the_assets_are_served(client):
    page = (await client.get("/docs")).text
    for link in links_in(page):
        response = await client.get(link)
        assert response.status_code == 200, link
        assert len(response.content) > 500, link
    script = await client.get("/docs/assets/swagger-ui-bundle.js")
    assert "javascript" in script.headers["content-type"]
    assert b"SwaggerUIBundle" in script.content
    styles = await client.get("/docs/assets/swagger-ui.css")
    assert styles.headers["content-type"].startswith("text/css")


async def test_the_document_it_renders_is_served(client):
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    assert response.json()["openapi"].startswith("3.1")


async def test_pages_that_would_load_from_a_cdn_are_gone(client):
    assert (await client.get("/redoc")).status_code == 404
    assert (await client.get("/docs/oauth2-redirect")).status_code == 404

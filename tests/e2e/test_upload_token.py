"""Saving to a server that wants an upload token: the page asks once, in a dialog, keeps
the token for the tab, retries with `Authorization: Bearer`, and says when it is refused.

The server's token check is stood in for here (the server branch adds the real one): a
Playwright route answers 401 like a token-protected server unless the right bearer token
is sent, and passes the request on to the real server when it is."""

from __future__ import annotations

import json

import pytest

from tests.e2e.digits import DIGITS, PLACES, place
from tests.e2e.pixels import save_page
from tests.support.page_driver import draw

pytestmark = pytest.mark.browser

TOKEN = "correct horse battery"
UPLOADS = "**/api/models/*/versions"


class TokenGate:
    """Stands in for the server's token check; records each upload's Authorization."""

    def __init__(self, page) -> None:
        self.page = page
        self.seen: list[str | None] = []
        page.route(UPLOADS, self.handle)

    def handle(self, route) -> None:
        if route.request.method != "POST":
            route.continue_()
            return
        header = route.request.headers.get("authorization")
        self.seen.append(header)
        if header == f"Bearer {TOKEN}":
            route.continue_()
        else:
            route.fulfill(status=401, content_type="application/json",
                          headers={"WWW-Authenticate": "Bearer"},
                          body=json.dumps({"detail": "upload token missing or wrong"}))

    def close(self) -> None:
        self.page.unroute(UPLOADS)


@pytest.fixture
def gated(drawing_page):
    page = drawing_page.page
    page.evaluate("() => sessionStorage.clear()")
    gate = TokenGate(page)
    yield drawing_page, gate
    gate.close()
    page.evaluate("() => sessionStorage.clear()")
    if page.get_by_test_id("token-dialog").is_visible():
        page.keyboard.press("Escape")


def save(page, name: str) -> None:
    page.get_by_test_id("save-name").fill(name)
    page.get_by_test_id("save").click()


def wait_status(page, start: str) -> str:
    page.wait_for_function("(start) => document.querySelector('[data-testid=status]')"
                           ".textContent.startsWith(start)", arg=start)
    return page.get_by_test_id("status").text_content()


def test_a_401_asks_for_the_token_once_then_it_is_kept_for_the_tab(gated, e2e_server):
    drawing_page, gate = gated
    page = drawing_page.page
    save(page, "token-kept")
    dialog = page.get_by_role("dialog", name="Upload token")
    dialog.wait_for(state="visible")
    assert "needs an upload token" in dialog.text_content()
    assert "upload token missing or wrong" in dialog.text_content()  # the server's words
    field = page.get_by_test_id("token-input")
    assert page.evaluate("() => document.activeElement.id") == "token-input"
    assert field.get_attribute("type") == "password"
    save_page(page, "token-dialog-390.png", width=390)
    field.fill(TOKEN)
    field.press("Enter")
    status = wait_status(page, "Ready — saved as token-kept")
    assert "v1" in status and not dialog.is_visible()
    assert gate.seen == [None, f"Bearer {TOKEN}"]
    _, root = e2e_server
    assert (root / "store" / "token-kept" / "v1" / "model.json").is_file()
    assert page.evaluate("() => sessionStorage.getItem('shadernet.uploadToken')") == TOKEN
    save(page, "token-kept")  # the next save sends it at once, no dialog
    wait_status(page, "Ready — saved as token-kept v2")
    assert gate.seen[2:] == [f"Bearer {TOKEN}"]


def test_a_refused_token_is_said_so_and_forgotten(gated, e2e_server):
    drawing_page, gate = gated
    page = drawing_page.page
    save(page, "token-wrong")
    page.get_by_test_id("token-input").fill("not the token")
    page.get_by_test_id("token-ok").click()
    status = wait_status(page, "Save failed")
    assert "refused that upload token" in status and "Nothing was saved" in status
    assert "upload token missing or wrong" in status
    assert gate.seen == [None, "Bearer not the token"]  # asked once, tried once
    assert not page.get_by_test_id("token-dialog").is_visible()
    assert page.evaluate("() => sessionStorage.getItem('shadernet.uploadToken')") is None
    _, root = e2e_server
    assert not (root / "store" / "token-wrong").exists()
    assert not page.get_by_test_id("save").is_disabled()  # the person can try again
    draw(page, place(DIGITS[7], *PLACES["centre-large"]))  # and the page still works
    drawing_page.wait_settled()
    assert drawing_page.prediction() == "7"


def test_cancelling_the_dialog_saves_nothing(gated, e2e_server):
    drawing_page, gate = gated
    page = drawing_page.page
    save(page, "token-cancel")
    page.get_by_role("dialog", name="Upload token").wait_for(state="visible")
    page.keyboard.press("Escape")
    status = wait_status(page, "Save failed")
    assert "needs an upload token" in status
    assert gate.seen == [None]
    _, root = e2e_server
    assert not (root / "store" / "token-cancel").exists()

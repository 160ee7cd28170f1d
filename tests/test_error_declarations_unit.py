"""How an error's class line declares its problem+json fields (pure logic)."""

from app.cards.errors import CardNotFound
from app.core.errors import Conflict, NotFound


def test_the_title_defaults_to_the_code_in_words() -> None:
    class WidgetNotFound(NotFound, code="widget_not_found"): ...

    assert (WidgetNotFound.code, WidgetNotFound.title, WidgetNotFound.status) == (
        "widget_not_found",
        "Widget not found",
        404,
    )
    assert CardNotFound.title == "Card not found"


def test_a_given_title_and_status_win() -> None:
    class WidgetBusy(Conflict, code="widget_busy", title="The widget is busy", status=423): ...

    assert (WidgetBusy.title, WidgetBusy.status) == ("The widget is busy", 423)
    assert WidgetBusy().detail == "The widget is busy"

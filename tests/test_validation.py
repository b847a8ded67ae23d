"""validation.py: bounds read from the models' aliases, and the one pydantic -> typed-error mapping."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from mem_mcp.errors import InvalidArgumentError
from mem_mcp.models import ListOffset, PageLimit, SearchOffset, TopK, TtlDays
from mem_mcp.validation import bounds, check_bounded, invalid


def test_bounds_come_from_the_aliases():
    assert bounds(TopK) == (1, 50)
    assert bounds(SearchOffset) == (0, 10_000)
    assert bounds(ListOffset) == (0, 10**9)
    assert bounds(PageLimit) == (1, 500)
    assert bounds(TtlDays) == (1, 3650)


@pytest.mark.parametrize("value", [0, 51, True, "5", 2.0])
def test_check_bounded_refuses_out_of_range_and_non_integers(value):
    with pytest.raises(InvalidArgumentError) as err:
        check_bounded("top_k", value, TopK)
    assert err.value.field == "top_k" and "from 1 to 50" in err.value.message


def test_check_bounded_accepts_the_ends():
    check_bounded("top_k", 1, TopK)
    check_bounded("top_k", 50, TopK)


class _Item(BaseModel):
    name: str
    size: int


def _error() -> ValidationError:
    with pytest.raises(ValidationError) as exc:
        _Item.model_validate({"name": "x", "size": "big"})
    return exc.value


def test_invalid_names_the_dotted_place_and_the_hint():
    err = invalid(_error(), "items[2]", hint="Each item is {name, size}.")
    assert err.field == "items[2].size"
    assert err.message.startswith("`items[2].size` is invalid: ") and err.message.endswith("Each item is {name, size}.")


def test_invalid_can_keep_the_field_itself():
    assert invalid(_error(), "items[2]", name_location=False).field == "items[2]"

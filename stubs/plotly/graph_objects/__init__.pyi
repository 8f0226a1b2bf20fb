# Minimal stubs: the figure class the tests validate report figures with (atb builds the dicts
# plotly.js draws itself: atb.reporting.figure_spec).
from collections.abc import Mapping
from typing import Any

class Figure:
    def __init__(self, data: Mapping[str, object] | None = None) -> None: ...
    def to_dict(self) -> dict[str, Any]: ...

# Minimal stubs: only `plotly.io.to_html`, as the tests call it to compare atb's chart HTML
# with plotly.py's (with a figure object, or the dict plotly.js draws).
from collections.abc import Mapping

from plotly.graph_objects import Figure

def to_html(
    fig: Figure | Mapping[str, object],
    config: Mapping[str, object] | None = ...,
    auto_play: bool = ...,
    include_plotlyjs: bool | str = ...,
    include_mathjax: bool | str = ...,
    post_script: str | None = ...,
    full_html: bool = ...,
    animation_opts: Mapping[str, object] | None = ...,
    default_width: int | str = ...,
    default_height: int | str = ...,
    validate: bool = ...,
    div_id: str | None = ...,
) -> str: ...

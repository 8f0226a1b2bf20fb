# Minimal stubs: only `plotly.io.to_html`, as `atb.reporting.html_report` calls it.
from collections.abc import Mapping

from plotly.graph_objects import Figure

def to_html(
    fig: Figure,
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

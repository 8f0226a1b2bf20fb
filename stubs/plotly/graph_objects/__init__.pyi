# Minimal stubs: only the figure and trace constructors atb's reports use.
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

_Values = Sequence[float] | Sequence[float | None] | Sequence[str] | npt.NDArray[np.float64]

class BaseTraceType: ...

class Scatter(BaseTraceType):
    def __init__(
        self,
        *,
        x: _Values = ...,
        y: _Values = ...,
        name: str = ...,
        mode: str = ...,
        line: Mapping[str, object] = ...,
        marker: Mapping[str, object] = ...,
        text: Sequence[str] = ...,
        hovertemplate: str = ...,
        fill: str = ...,
        fillcolor: str = ...,
        showlegend: bool = ...,
    ) -> None: ...

class Bar(BaseTraceType):
    def __init__(
        self,
        *,
        x: _Values = ...,
        y: _Values = ...,
        name: str = ...,
        marker: Mapping[str, object] = ...,
    ) -> None: ...

class Heatmap(BaseTraceType):
    def __init__(
        self,
        *,
        z: Sequence[Sequence[float | None]] = ...,
        x: Sequence[str] = ...,
        y: Sequence[str] = ...,
        text: Sequence[Sequence[str]] = ...,
        texttemplate: str = ...,
        hovertemplate: str = ...,
        colorscale: str = ...,
        zmid: float = ...,
        xgap: int = ...,
        ygap: int = ...,
        colorbar: Mapping[str, object] = ...,
    ) -> None: ...

class Parcoords(BaseTraceType):
    def __init__(
        self,
        *,
        dimensions: Sequence[Mapping[str, object]] = ...,
        line: Mapping[str, object] = ...,
    ) -> None: ...

class Figure:
    def __init__(self) -> None: ...
    def add_trace(self, trace: BaseTraceType) -> Figure: ...
    def update_layout(self, **kwargs: object) -> Figure: ...
    def to_dict(self) -> dict[str, Any]: ...

RdBu_r: list[str]
RdYlGn: list[str]

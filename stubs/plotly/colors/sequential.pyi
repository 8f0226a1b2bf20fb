Viridis: list[str]

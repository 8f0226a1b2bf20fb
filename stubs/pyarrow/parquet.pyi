# The part of pyarrow.parquet atb calls (atb.reporting.equity_parquet).
from typing import BinaryIO

from pyarrow import Table

def write_table(
    table: Table, where: BinaryIO, *, compression: str = "snappy", use_dictionary: bool = True
) -> None: ...

# The named colour sequences atb's report figures spread into colorscales (atb.reporting.figure_spec).
from plotly.colors import diverging as diverging
from plotly.colors import sequential as sequential

"""Research tools: parameter search, walk-forward validation and overfitting statistics."""

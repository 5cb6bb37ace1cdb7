"""Config section ``[tracking]``: log each run to MLflow (optional extra ``ragft[mlflow]``).

Example (TOML)::

    [tracking]
    mlflow = true             # or `ragft run --mlflow`
    # uri = "http://mlflow.internal:5000"   # default: $MLFLOW_TRACKING_URI, else ./mlruns
    experiment = "ragft"
"""

from __future__ import annotations

from pydantic import Field

from bench.config.base import Section


class TrackingSection(Section):
    """``[tracking]``: where runs are logged besides the run folder."""

    mlflow: bool = False
    # tracking URI; None: $MLFLOW_TRACKING_URI when set, else a local store in ./mlruns (no server)
    uri: str | None = None
    experiment: str = Field(default="ragft", min_length=1)

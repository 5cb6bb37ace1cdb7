"""Documents to a ragft project: read .txt/.md/.html/.pdf/.docx, normalise, cut into passages, write the corpus.

Example: ``from tasks.ingest import init_project; init_project(Path("docs"), Path("myproject"))``
"""

from tasks.ingest.project import (
    DocumentInfo,
    FileProblem,
    IngestSettings,
    InitReport,
    NoDocumentsError,
    init_project,
)

__all__ = ["DocumentInfo", "FileProblem", "IngestSettings", "InitReport", "NoDocumentsError", "init_project"]

"""Write the published schema and the recorded documents anew, after a deliberate change of a document.

``.venv/bin/python -m tests.support.rerecord_documents`` from the repository root (a new metric:
docs/extending.md); then review the diff: only the change meant may show.
"""

from __future__ import annotations

import json

from core.documents import json_schema
from tests.unit.test_documents import DATA, RECORDED, ROOT, _pretty


def main() -> None:
    schema = json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"
    (ROOT / "docs" / "documents.schema.json").write_text(schema)
    for name, build in RECORDED.items():
        (DATA / name).write_bytes(_pretty(build()))


if __name__ == "__main__":
    main()

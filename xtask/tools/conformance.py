"""Runs ntia-conformance-checker on SPDX files and prints one JSON object per file and
standard: SPDX 2 files against NTIA minimum elements and CISA FSCT3-minimum, SPDX 3
files (`.spdx3.json`, or JSON-LD with an `@context`) also against BSI TR-03183-2 v2.1
(the checker reads BSI only from SPDX 3).

Usage: conformance.py FILE...
Each line: {"file", "spec", "standard", "conformant", "components", "requirements":
[[name, ok]...], "missing": {element: [component names]}, "problems": [...]}.
"""

import json
import logging
import sys

from ntia_conformance_checker import __version__
from ntia_conformance_checker.sbom_checker import SbomChecker


def spec_of(path: str) -> str:
    with open(path, encoding="utf-8") as handle:
        return "spdx3" if "@context" in json.load(handle) else "spdx2"


def main() -> int:
    logging.disable(logging.CRITICAL)
    for path in sys.argv[1:]:
        spec = spec_of(path)
        standards = ["ntia", "fsct3-min"] + (["bsi"] if spec == "spdx3" else [])
        for standard in standards:
            checker = SbomChecker(path, validate=True, compliance=standard, sbom_spec=spec)
            problems = [str(error) for error in checker.parsing_errors]
            problems += [message.validation_message for message in checker.validation_messages]
            problems += [message.validation_message for message in checker.conformance_messages]
            print(json.dumps({
                "checker": __version__,
                "file": path,
                "spec": spec,
                "standard": standard,
                "conformant": bool(checker.compliant),
                "components": checker.get_total_number_components() if checker.doc else 0,
                "requirements": [[name, bool(ok)] for name, ok in checker.table_elements],
                "missing": {
                    info: sorted({name for name, _ in components})
                    for info, components in checker.all_components_without_info
                },
                "problems": problems,
            }))
    return 0


if __name__ == "__main__":
    sys.exit(main())

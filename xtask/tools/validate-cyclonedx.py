"""Validates CycloneDX JSON files against the official schema of the spec version they
declare, with cyclonedx-python-lib's strict JSON validator (bundled schemas, offline).

Usage: validate-cyclonedx.py EXPECTED_VERSION FILE...
Exits 1, naming the file and the schema error, if any file is invalid or declares
another spec version.
"""

import json
import sys

from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

VERSIONS = {"1.5": SchemaVersion.V1_5, "1.6": SchemaVersion.V1_6}


def main() -> int:
    expected, files = sys.argv[1], sys.argv[2:]
    failed = False
    for path in files:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        declared = json.loads(text).get("specVersion")
        if declared != expected:
            print(f"{path}: specVersion is {declared!r}, expected {expected!r}")
            failed = True
            continue
        error = JsonStrictValidator(VERSIONS[expected]).validate_str(text)
        if error is not None:
            # The error's data is jsonschema's ValidationError: print its message and
            # place, not the whole schema it carries.
            data = getattr(error, "data", None)
            message = getattr(data, "message", None) or str(error)
            place = getattr(data, "json_path", "")
            print(f"{path}: not valid CycloneDX {expected}: {message} (at {place})")
            failed = True
        else:
            print(f"{path}: valid CycloneDX {expected}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

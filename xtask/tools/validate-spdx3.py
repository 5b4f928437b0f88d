"""Validates SPDX 3.0.1 JSON-LD files offline with spdx-python-model, the SPDX project's
bindings generated (by shacl2code) from the SPDX 3.0.1 SHACL model.

spdx3-validate (PyPI) downloads the JSON schema and the SHACL shapes from spdx.org on
every run, so it cannot run offline; these bindings carry the same model. Reading a
document checks every class, property name, datatype, enumeration value and IRI form;
writing it back checks every property's minimum and maximum count; then every reference
must name an element of the document (or an SPDX individual such as NoneElement), and
there must be exactly one SpdxDocument whose root elements exist.

Usage: validate-spdx3.py FILE...
Exits 1, naming the file and the problem, if any file is invalid.
"""

import io
import json
import sys

from spdx_python_model import v3_0_1 as spdx3


def check(path: str) -> list[str]:
    problems = []
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    if data.get("@context") != "https://spdx.org/rdf/3.0.1/spdx-context.jsonld":
        problems.append(f"@context is {data.get('@context')!r}, expected the SPDX 3.0.1 context")
    objects = spdx3.SHACLObjectSet()
    try:
        with open(path, "rb") as handle:
            spdx3.JSONLDDeserializer().read(handle, objects)
    except Exception as error:  # the bindings raise TypeError/ValueError/KeyError
        return problems + [f"does not match the SPDX 3.0.1 model: {type(error).__name__}: {error}"]
    try:
        spdx3.JSONLDSerializer().write(objects, io.BytesIO())
    except Exception as error:
        problems.append(f"violates a cardinality of the SPDX 3.0.1 model: {error}")
    missing = sorted(objects.link())
    if missing:
        problems.append(f"references undefined elements: {', '.join(missing[:10])}")
    documents = list(objects.foreach_type(spdx3.SpdxDocument))
    if len(documents) != 1:
        problems.append(f"has {len(documents)} SpdxDocument elements, expected exactly one")
    elif not documents[0].rootElement:
        problems.append("its SpdxDocument has no rootElement")
    return problems


def main() -> int:
    failed = False
    for path in sys.argv[1:]:
        problems = check(path)
        for problem in problems:
            print(f"{path}: {problem}")
        if problems:
            failed = True
        else:
            print(f"{path}: valid SPDX 3.0.1")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""Regenerate the file reference pages from the schemas: ``python docs/make_reference.py``."""

from pathlib import Path

from cjsim.docs_reference import write_pages

if __name__ == "__main__":
    for path in write_pages(Path(__file__).parent / "reference"):
        print(f"wrote {path}")

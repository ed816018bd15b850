"""NIST OSCAL 1.1 JSON documents built from aigov's controls, decisions and evidence."""

OSCAL_VERSION = "1.1.3"
"""The OSCAL release the documents declare in `metadata.oscal-version`."""

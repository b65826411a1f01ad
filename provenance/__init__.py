"""Provenance: the signing authority, C2PA sign and verify, the visible label."""

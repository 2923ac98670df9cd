"""Pure core: parsing, splitting, checksums, versions and planning; no I/O."""

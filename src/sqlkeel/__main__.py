"""``python -m sqlkeel`` runs the keel command line."""

from sqlkeel.cli.app import main

main()

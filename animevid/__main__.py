"""``python -m animevid`` runs the command line."""

from animevid.cli import main

main()

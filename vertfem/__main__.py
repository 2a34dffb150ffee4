"""``python -m vertfem`` runs the command line."""

from .cli import run

run()

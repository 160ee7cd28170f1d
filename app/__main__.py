"""`python -m app …` runs the `billing` command line."""

from app.cli import main

main()

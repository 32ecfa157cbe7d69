"""`python -m search.report`: see search/report/cli.py."""
import sys

from search.report.cli import main

sys.exit(main())

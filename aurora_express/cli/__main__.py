import sys

from aurora_express.cli.main import main

sys.exit(main())

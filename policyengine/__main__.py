import sys

from policyengine.cli.main import main

sys.exit(main())

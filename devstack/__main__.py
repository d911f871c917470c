"""`python -m devstack` (`make run`): the whole local stack in the foreground."""

import logging
import os
import sys

from devstack.run import main

code = main()
# Everything the stack started is stopped by now. Skip the interpreter's teardown of a large heap
# (about a second) so that a stop is prompt; flush what would have been flushed.
logging.shutdown()
sys.stdout.flush()
sys.stderr.flush()
os._exit(code)

"""Settings for the whole test run."""

import os

# python-telegram-bot 22 warns (an error under filterwarnings=error) when it builds a
# RetryAfter with the old integer semantics; opt in to timedelta values as PTB advises.
os.environ.setdefault("PTB_TIMEDELTA", "1")

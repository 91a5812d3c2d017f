import os
import sys

for d in ("lib", "emulators"):
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", d))

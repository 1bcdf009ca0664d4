# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Make ``ansible_collections.orchestra.gcp`` importable from this checkout.

The repository commits ``.collections/ansible_collections/orchestra/gcp -> ../../..``; putting
``<repo>/.collections`` first on ``sys.path`` makes the collection importable under its real name.
"""

from __future__ import annotations

import os
import sys

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
COLLECTIONS = os.path.join(REPO, ".collections")

if COLLECTIONS in sys.path:
    sys.path.remove(COLLECTIONS)
sys.path.insert(0, COLLECTIONS)

# google-auth reads this once, when google.auth.compute_engine is first imported: never probe the
# GCE metadata server (or /sys/class/dmi) from a unit test.
os.environ["NO_GCE_CHECK"] = "true"

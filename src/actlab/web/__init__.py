"""The playground: a training session object and the loopback web page that drives it.

>>> from actlab.web import PlaygroundSession
>>> session = PlaygroundSession({"dataset": "xor", "hidden": [4]})
>>> session.step().epoch
1

The web server (:mod:`actlab.web.app`, needs the ``web`` extra) is a thin client of
:class:`PlaygroundSession`; ``actlab playground`` starts it.
"""

from __future__ import annotations

from actlab.web.config import FEATURES, LIMITS, Config, Limits, menus
from actlab.web.session import Frame, PlaygroundSession

__all__ = ["FEATURES", "LIMITS", "Config", "Frame", "Limits", "PlaygroundSession", "menus"]

"""randstyle: musical style transfer, textures and naive separation with random, untrained
convolutions. ``import randstyle`` is the public API: the names of engine/__init__.py
(``randstyle.transfer``, ``randstyle.TransferConfig``, ``randstyle.load``, ...), listed in
``randstyle.__all__``.

The package's two parts are ``randstyle.engine`` and ``randstyle.kernels``. An install holds
them in this folder (setup.py's package_dir maps the checkout's engine/ and kernels/ there);
a checkout, run as it is or installed editable, keeps them beside this folder, at the root.
"""
import os as _os

# In a checkout the root joins this package's path, so randstyle.engine is the root's engine/
# (the only place it is); an install's own engine/ is never looked for elsewhere.
if not _os.path.isdir(_os.path.join(__path__[0], "engine")):
    __path__.append(_os.path.dirname(_os.path.abspath(__path__[0])))

from randstyle.engine import *  # noqa: E402, F403  the public API, as engine/__init__ lists it
from randstyle.engine import __all__  # noqa: E402, F401

"""CI on this machine: the workflows run by act on a private Docker daemon, with images built here
from reachable sources and stand-ins for GitHub's actions (`./run.sh act`, `docs/ci.md`).

- `dockerd`: a Docker daemon of the rig's own, which leaves the host's network as it found it;
- `images`: every image the workflows name, built from PyPI, Debian and npm;
- `act`: the act command line that maps the workflows' actions, runner and storage onto them.
"""

"""``python -m cjsim``: the same as the ``cjsim`` command."""

from cjsim.cli import main

main()

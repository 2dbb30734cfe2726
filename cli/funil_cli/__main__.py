"""``python -m funil_cli``: the same as the ``funil`` script."""

from funil_cli.main import main

main()

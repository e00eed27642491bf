"""``python -m dualuse``: the command line."""

from dualuse.cli import main

if __name__ == "__main__":
    main()

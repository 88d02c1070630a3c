"""`python -m kob`: the same as the `kob` command."""

from kob.cli.main import main

if __name__ == "__main__":
    main()

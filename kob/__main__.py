from kob.cli.main import main

main()

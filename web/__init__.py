"""kob's status page: a Flask application factory (the page itself grows with later issues)."""

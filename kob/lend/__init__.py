"""The store lent through a connection holder: kob.store's interface over kob.transport's holder socket.

`kob connect` and `kob serve` keep the inventory's store open; other commands of the same user ask it through
the holder (kob.lend.client.LentStore) instead of opening their own: no etcd client to import and connect.
kob.lend.desk is the holder's side, kob.lend.wire the records as JSON.
"""

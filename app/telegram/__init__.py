"""The Telegram front end: chat commands and the buttons under alert messages (see docs/alerts.md).

A front end like the dashboard: it calls only the operator facade, through its own
Protocol (``port.py``).  Its rooms: ``commands`` (parsing, usage lines), ``text``
(escaping, the 4,096 limit), ``auth`` (user + chat), ``replies`` (the words of the
reading commands), ``dispatch`` (what each command and button does), ``poller``
(the long-polling thread, an edge) and ``links`` (one poller per token, for the
monitor's lifetime).
"""

"""What vulture cannot see used: names read by a framework, a library or the test runner.

``make lint`` runs vulture over the product, the benchmarks and the tests ([tool.vulture] in
pyproject.toml); a name here is used, only not by a call vulture can follow.  Keep each line's
reason: anything else vulture reports is dead code, to be deleted.
"""

# ruff: noqa: B018, F821 -- bare names are how vulture reads a whitelist

# Fields of the msgspec documents: encoded into /api/metrics and the page, read by no Python code.
win_rate
snapshot_batch
last_snapshot_at
peak_equity  # the fleet totals' sum of peaks (alerts read its drawdown)
since_stop_s, oldest_mark_age_s  # safety metrics for custom rules (alerts.rules) and the API

# Attributes a library reads after we set them.
curve_secretkey, curve_publickey, curve_serverkey, curve_server, zap_domain, linger  # zmq options
index_string  # Dash's page template
preserve_quotes  # ruamel.yaml's round-trip of settings.yaml
unfinished_tasks  # queue.Queue's count of tasks (the journal puts one back at the front)
row_factory  # sqlite3's row shape
server_url, binary_location  # dash_duo and Selenium
exitstatus  # pytest's session result (the session-end check of leftover processes)
__class__  # a test swaps an object's class for one that lets nothing through

# Methods a framework calls: overrides of its base class.
find_class  # pickle.Unpickler: the allow-list of the first checkpoint format
load_config, is_parent_alive, handle_quit  # gunicorn's application and worker
do_POST, log_message  # http.server's request handler (bench)
handle_DATA  # aiosmtpd's handler (the test SMTP servers)
collect  # prometheus_client's collector protocol (GET /metrics)

# Parameters a protocol fixes, unused by our implementation of it.
tb  # __exit__(exc_type, exc, tb)
flags  # zmq.Socket.recv(flags, copy): the test's fake socket

# Fixtures requested for their effect only (pytest injects them by name).
jsonl
failing_fill

# Document fields read only by the Prometheus exporter, which walks the document types by name.
firing_by_severity
orders_sent, queue_age_s  # a test's scratch fields: a metric added after the exporter was written

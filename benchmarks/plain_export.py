"""One Memorystore export with the bare client library, the floor of benchmarks/redis_backup.py.

    plain_export.py ENDPOINT INSTANCE URI

``CloudRedisClient`` over REST, ``export_instance`` of INSTANCE (its full resource name) to the gs:// URI, then
``operation.result()``: what any tool that backs up an instance must at least do. Prints the seconds the export took
from the client's creation to the operation's result (JSON), the process's own start-up and imports aside.
"""

import json
import sys
import time

from google.auth.credentials import AnonymousCredentials
from google.cloud import redis_v1


def main(endpoint, instance, uri):
    started = time.perf_counter()
    client = redis_v1.CloudRedisClient(credentials=AnonymousCredentials(), transport="rest", client_options={"api_endpoint": endpoint})
    operation = client.export_instance(name=instance, output_config={"gcs_destination": {"uri": uri}})
    operation.result(timeout=3600)
    print(json.dumps({"export_seconds": time.perf_counter() - started}))


if __name__ == "__main__":
    main(*sys.argv[1:])

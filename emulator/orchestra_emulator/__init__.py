"""A local, stateful double of the Google Cloud REST APIs that orchestra.gcp uses."""

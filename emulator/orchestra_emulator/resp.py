"""A minimal Redis client over RESP (https://redis.io/docs/latest/develop/reference/protocol-spec/): what the
emulator needs to drive the redis-server processes behind Memorystore instances (PING, AUTH, CONFIG SET, SAVE,
SHUTDOWN, and the CLUSTER commands that join a cluster's nodes and move its slots), without a client library."""

import socket


class RedisError(Exception):
    """An error reply (`-ERR ...`)."""


class Connection:
    def __init__(self, port, password=None, host="127.0.0.1", timeout=5.0):
        self._socket = socket.create_connection((host, port), timeout=timeout)
        self._reader = self._socket.makefile("rb")
        if password:
            self.command("AUTH", password)

    def command(self, *args):
        """Send one command (its arguments as str or bytes) and return its reply: bytes, int, a list, or None."""
        encoded = [arg if isinstance(arg, bytes) else str(arg).encode() for arg in args]
        self._socket.sendall(b"*%d\r\n" % len(encoded) + b"".join(b"$%d\r\n%s\r\n" % (len(arg), arg) for arg in encoded))
        return self._reply()

    def pipeline(self, commands):
        """Send many commands at once and return their replies in order; an error reply is returned as a RedisError, not
        raised, so that one refused command does not hide the others' replies."""
        if not commands:
            return []
        payload = []
        for args in commands:
            encoded = [arg if isinstance(arg, bytes) else str(arg).encode() for arg in args]
            payload.append(b"*%d\r\n" % len(encoded) + b"".join(b"$%d\r\n%s\r\n" % (len(arg), arg) for arg in encoded))
        self._socket.sendall(b"".join(payload))
        replies = []
        for _command in commands:
            try:
                replies.append(self._reply())
            except RedisError as error:
                replies.append(error)
        return replies

    def close(self):
        self._reader.close()
        self._socket.close()

    def __enter__(self):
        return self

    def __exit__(self, *_exception):
        self.close()

    def _reply(self):
        line = self._reader.readline()
        if not line:
            raise ConnectionError("The Redis server closed the connection.")
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest
        if kind == b"-":
            raise RedisError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            return None if rest == b"-1" else self._reader.read(int(rest) + 2)[:-2]
        if kind == b"*":
            return None if rest == b"-1" else [self._reply() for _index in range(int(rest))]
        raise RedisError(f"Unexpected reply {line!r}")


def port_free(port, host="127.0.0.1"):
    """Whether redis-server can listen on `port` (it sets SO_REUSEADDR: a port whose last connections linger in TIME_WAIT is free)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host="127.0.0.1"):
    """A port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]

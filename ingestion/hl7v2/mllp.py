"""MLLP (minimal lower layer protocol): a threaded TCP listener and a small client. No Django here.

Every frame is `0x0B message 0x1C 0x0D`. The server answers each message with what `handler` returns
(the ACK, after the caller has stored the message), and never lets a bad peer crash or hang it:

- bytes outside a frame, a missing 0x0D after 0x1C, or a start block inside a message: an AR ACK
  naming the fault, then the connection is closed (the stream cannot be trusted to resynchronise);
- a message longer than `max_message_bytes`: an AR ACK, then close;
- a frame whose content is not HL7 v2 (no MSH, bad delimiters, no control id): an AR ACK, and the
  connection stays open, because the framing was fine;
- `handler` raising: an AE ACK with the reason, connection kept;
- no byte for `idle_timeout` seconds: the connection is closed.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterable

from ingestion.hl7v2.ack import build_ack
from ingestion.hl7v2.header import read_header
from ingestion.hl7v2.reader import Hl7ParseError

logger = logging.getLogger(__name__)

START, END = b"\x0b", b"\x1c\x0d"
_START, _END_BLOCK, _CR = 0x0B, 0x1C, 0x0D
_BETWEEN_FRAMES = b"\r\n\t \x00"
DEFAULT_MAX_MESSAGE_BYTES = 10 * 1024 * 1024
DEFAULT_IDLE_TIMEOUT = 60.0

Handler = Callable[[bytes, str], bytes]
Rejected = Callable[[bytes, str, str], None]


def frame(message: bytes) -> bytes:
    return START + message + END


class MllpServer:
    """Thread per connection; `port` is the bound port (the real one when 0 was asked for)."""

    def __init__(
        self,
        host: str,
        port: int,
        handler: Handler,
        *,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
        max_connections: int = 256,
        on_reject: Rejected | None = None,
        on_close: Callable[[str], None] | None = None,
    ):
        self.host = host
        self.handler = handler
        self.max_message_bytes = max_message_bytes
        self.idle_timeout = idle_timeout
        self.max_connections = max_connections
        self.on_reject = on_reject
        # Called in the connection's thread as it ends (e.g. to close that thread's database connection).
        self.on_close = on_close
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._listener = socket.create_server((host, port), family=family, backlog=128)
        self.port: int = self._listener.getsockname()[1]
        self._connections: dict[socket.socket, threading.Thread] = {}
        self._lock = threading.Lock()
        self._running = threading.Event()
        self._accept_thread: threading.Thread | None = None

    # --- lifecycle -------------------------------------------------------------------------------

    def start(self) -> MllpServer:
        self._running.set()
        self._accept_thread = threading.Thread(
            target=self._accept_loop, name=f"mllp-{self.port}", daemon=True
        )
        self._accept_thread.start()
        return self

    def serve_forever(self) -> None:
        self._running.set()
        self._accept_loop()

    def stop(self, timeout: float = 5.0) -> None:
        self._running.clear()
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            self._listener.close()
        with self._lock:
            connections = list(self._connections.items())
        for conn, _ in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        for _, thread in connections:
            thread.join(timeout)
        if self._accept_thread and self._accept_thread is not threading.current_thread():
            self._accept_thread.join(timeout)

    @property
    def connection_count(self) -> int:
        with self._lock:
            return len(self._connections)

    def __enter__(self) -> MllpServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- accepting -------------------------------------------------------------------------------

    def _accept_loop(self) -> None:
        while self._running.is_set():
            try:
                conn, address = self._listener.accept()
            except OSError:
                if self._running.is_set():
                    logger.exception("MLLP listener on port %s failed to accept", self.port)
                return
            peer = f"{address[0]}:{address[1]}"
            with self._lock:
                if len(self._connections) >= self.max_connections:
                    logger.warning("MLLP: refusing %s: %s connections open", peer, len(self._connections))
                    with contextlib.suppress(OSError):
                        conn.close()
                    continue
                thread = threading.Thread(
                    target=self._serve, args=(conn, peer), name=f"mllp {peer}", daemon=True
                )
                self._connections[conn] = thread
            thread.start()

    # --- one connection --------------------------------------------------------------------------

    def _serve(self, conn: socket.socket, peer: str) -> None:
        buffer = bytearray()
        try:
            conn.settimeout(self.idle_timeout)
            while self._running.is_set():
                messages, closing = self._frames(buffer, peer)
                for message in messages:
                    conn.sendall(frame(self._answer(message, peer)))
                if closing is not None:
                    # The stream cannot be trusted to resynchronise: answer, then close.
                    conn.sendall(frame(closing))
                    _linger(conn)
                    return
                try:
                    data = conn.recv(65536)
                except TimeoutError:
                    logger.info("MLLP: closing %s after %ss idle", peer, self.idle_timeout)
                    return
                if not data:
                    return
                buffer += data
        except OSError as exc:
            logger.info("MLLP: connection %s ended: %s", peer, exc)
        except Exception:
            # Nothing a peer sends may take the listener down; this connection alone ends.
            logger.exception("MLLP: unexpected failure on connection %s", peer)
        finally:
            with contextlib.suppress(OSError):
                conn.close()
            with self._lock:
                self._connections.pop(conn, None)
            if self.on_close is not None:
                try:
                    self.on_close(peer)
                except Exception:
                    logger.exception("MLLP: on_close failed for %s", peer)

    def _reject(self, raw: bytes, peer: str, reason: str, location: str = "") -> bytes:
        logger.warning("MLLP: rejected a message from %s: %s", peer, reason)
        if self.on_reject is not None:
            try:
                self.on_reject(raw, peer, reason)
            except Exception:
                logger.exception("MLLP: recording a rejected message from %s failed", peer)
        return build_ack(raw, "AR", reason, location)

    def _frames(self, buffer: bytearray, peer: str) -> tuple[list[bytes], bytes | None]:
        """Every whole frame off the front of `buffer`, and the AR to close with on a framing fault."""
        found: list[bytes] = []
        while True:
            skip = 0
            while skip < len(buffer) and buffer[skip] in _BETWEEN_FRAMES:
                skip += 1
            if skip:
                del buffer[:skip]
            if not buffer:
                return found, None
            if buffer[0] != _START:
                sample = bytes(buffer[:200])
                del buffer[:]
                return found, self._reject(
                    sample, peer, "not MLLP framed: a message must start with the 0x0B start block"
                )
            end = buffer.find(_END_BLOCK, 1)
            inner_start = buffer.find(_START, 1, end if end >= 0 else len(buffer))
            if inner_start >= 0:
                message = bytes(buffer[1:inner_start])
                return found, self._reject(
                    message, peer, "a 0x0B start block came before the 0x1C end block of the message"
                )
            if end < 0:
                if len(buffer) - 1 > self.max_message_bytes:
                    message = bytes(buffer[1 : 1 + 4096])
                    return found, self._reject(
                        message, peer, f"the message is longer than {self.max_message_bytes} bytes"
                    )
                return found, None
            if end + 1 >= len(buffer):
                return found, None  # the 0x0D has not arrived yet
            message = bytes(buffer[1:end])
            if buffer[end + 1] != _CR:
                return found, (self._reject(message, peer, "the 0x1C end block is not followed by 0x0D"))
            del buffer[: end + 2]
            if len(message) > self.max_message_bytes:
                return found, self._reject(
                    message[:4096], peer, f"the message is longer than {self.max_message_bytes} bytes"
                )
            found.append(message)

    def _answer(self, message: bytes, peer: str) -> bytes:
        try:
            read_header(message)
        except Hl7ParseError as exc:
            return self._reject(message, peer, f"not an HL7 v2 message: {exc}", exc.location)
        try:
            reply = self.handler(message, peer)
        except Exception as exc:
            logger.exception("MLLP: the handler failed on a message from %s", peer)
            return build_ack(
                message, "AE", f"the message could not be processed: {exc or type(exc).__name__}"
            )
        if not isinstance(reply, bytes | bytearray) or not reply:
            return build_ack(message, "AE", "the receiving application gave no acknowledgement")
        return bytes(reply)


def _linger(conn: socket.socket, seconds: float = 1.0) -> None:
    """Close our side, then read and drop what the peer is still sending for a moment.

    Closing a socket with unread input makes the kernel send a reset, which can destroy the reject
    we just sent before the peer reads it.
    """
    with contextlib.suppress(OSError):
        conn.shutdown(socket.SHUT_WR)
        conn.settimeout(seconds)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and conn.recv(65536):
            pass


def start_server(host: str, port: int, handler: Handler, **kw: object) -> MllpServer:
    """An MllpServer already accepting connections, in a background thread."""
    return MllpServer(host, port, handler, **kw).start()  # type: ignore[arg-type]


def mllp_send(host: str, port: int, messages: Iterable[bytes], timeout: float = 10.0) -> list[bytes]:
    """Send each message on one connection, waiting for its ACK; the ACKs, unframed, in order.

    Raises ConnectionError if the listener closes the connection before acknowledging a message.
    """
    acks: list[bytes] = []
    buffer = bytearray()
    with socket.create_connection((host, port), timeout=timeout) as sock:
        for number, message in enumerate(messages, start=1):
            sock.sendall(frame(message))
            while True:
                start = buffer.find(START)
                end = buffer.find(END, start + 1) if start >= 0 else -1
                if end >= 0:
                    acks.append(bytes(buffer[start + 1 : end]))
                    del buffer[: end + 2]
                    break
                data = sock.recv(65536)
                if not data:
                    raise ConnectionError(
                        f"the listener closed the connection before acknowledging message {number}"
                    )
                buffer += data
    return acks

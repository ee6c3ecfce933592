"""The MLLP listener over real loopback sockets: framing, concurrency, bad peers and failing handlers."""

from __future__ import annotations

import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from ingestion.hl7v2 import build_ack, read_header
from ingestion.hl7v2.mllp import END, START, frame, mllp_send, start_server
from tests.ingestion.hl7v2 import message

ORU = message(
    "MSH|^~\\&|LAB|RBD|DCR|DCR|20261122090000||ORU^R01^ORU_R01|{id}|P|2.5.1",
    "PID|1||9990000018^^^NHS^NH~H123^^^RBD^MR||Smith^Jane||19800101|F",
    "OBR|1||F{id}^RBD|1022431000000105^Haemoglobin estimation^SCT||||||||||||||||||||F",
    "OBX|1|NM|1022431000000105^Haemoglobin estimation^SCT||140|g/L^g/L^UCUM|120-150|N|||F",
)


def oru(control_id: str) -> bytes:
    return ORU.replace(b"{id}", control_id.encode())


def accept_all(raw: bytes, peer: str) -> bytes:
    return build_ack(raw, "AA")


def msa(ack: bytes) -> list[str]:
    [line] = [line for line in ack.decode().split("\r") if line.startswith("MSA|")]
    return line.split("|")


def err(ack: bytes) -> list[str]:
    [line] = [line for line in ack.decode().split("\r") if line.startswith("ERR|")]
    return line.split("|")


def read_frames(sock: socket.socket, timeout: float = 5.0) -> tuple[list[bytes], bool]:
    """Every ACK the server sends until it closes (True) or goes quiet for `timeout` (False)."""
    sock.settimeout(timeout)
    data = b""
    closed = False
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                closed = True
                break
            data += chunk
    except TimeoutError:
        pass
    frames = [part.split(END)[0] for part in data.split(START)[1:]]
    return frames, closed


@pytest.fixture
def server():
    running = start_server("127.0.0.1", 0, accept_all, idle_timeout=2.0, max_message_bytes=64 * 1024)
    yield running
    running.stop()


class TestFraming:
    def test_each_message_on_a_connection_gets_its_own_ack_in_order(self, server):
        acks = mllp_send("127.0.0.1", server.port, [oru("M1"), oru("M2"), oru("M3")])

        assert [msa(ack)[1:3] for ack in acks] == [["AA", "M1"], ["AA", "M2"], ["AA", "M3"]]
        header = read_header(acks[0])
        assert header.message_type == "ACK"
        assert (header.sending_application, header.receiving_application) == ("DCR", "LAB")

    def test_a_message_split_across_many_packets_is_reassembled(self, server):
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            for byte in frame(oru("SLOW")):
                sock.send(bytes([byte]))
            sock.shutdown(socket.SHUT_WR)
            [ack], closed = read_frames(sock)
        assert msa(ack)[1:3] == ["AA", "SLOW"]
        assert closed

    def test_bytes_outside_a_frame_get_a_reasoned_reject_and_a_close(self, server):
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            sock.sendall(oru("BARE"))  # no 0x0B start block
            [ack], closed = read_frames(sock)
        assert msa(ack)[1:3] == ["AR", "BARE"]
        assert "0x0B start block" in err(ack)[8]
        assert closed

    def test_an_end_block_without_its_carriage_return_is_rejected(self, server):
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            sock.sendall(START + oru("NOCR") + b"\x1cX")
            [ack], closed = read_frames(sock)
        assert msa(ack)[1:3] == ["AR", "NOCR"]
        assert "not followed by 0x0D" in err(ack)[8]
        assert closed

    def test_non_hl7_content_in_a_good_frame_is_rejected_and_the_connection_kept(self, server):
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            sock.sendall(frame(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n") + frame(oru("AFTER")))
            acks, _ = read_frames(sock, timeout=1.0)
        assert msa(acks[0])[1] == "AR"
        assert "not an HL7 v2 message" in err(acks[0])[8]
        assert msa(acks[1])[1:3] == ["AA", "AFTER"]

    def test_an_oversized_message_is_rejected_without_reading_it_all(self, server):
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            sock.sendall(START + oru("BIG") + b"NTE|1||" + b"x" * (128 * 1024))
            [ack], closed = read_frames(sock)
        assert msa(ack)[1:3] == ["AR", "BIG"]
        assert "longer than 65536 bytes" in err(ack)[8]
        assert closed

    def test_an_idle_connection_is_closed(self, server):
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            started = time.monotonic()
            frames, closed = read_frames(sock, timeout=10.0)
        assert closed
        assert frames == []
        assert 1.5 < time.monotonic() - started < 8


class TestHandler:
    def test_a_failing_handler_gives_an_application_error_with_the_reason(self):
        def broken(raw: bytes, peer: str) -> bytes:
            raise RuntimeError("the ledger is unavailable")

        with start_server("127.0.0.1", 0, broken) as failing:
            [ack, second] = mllp_send("127.0.0.1", failing.port, [oru("E1"), oru("E2")])
        assert msa(ack)[1:3] == ["AE", "E1"]
        assert "the ledger is unavailable" in err(ack)[8]
        assert msa(second)[1:3] == ["AE", "E2"]

    def test_the_handler_is_told_the_peer(self):
        peers = []

        def remember(raw: bytes, peer: str) -> bytes:
            peers.append(peer)
            return build_ack(raw, "AA")

        with start_server("127.0.0.1", 0, remember) as listening:
            mllp_send("127.0.0.1", listening.port, [oru("P1")])
        assert peers[0].startswith("127.0.0.1:")

    def test_many_clients_are_served_at_once(self):
        inside = threading.Semaphore(0)
        concurrent = []
        lock = threading.Lock()
        active = [0]

        def slow(raw: bytes, peer: str) -> bytes:
            with lock:
                active[0] += 1
                concurrent.append(active[0])
            time.sleep(0.05)
            with lock:
                active[0] -= 1
            inside.release()
            return build_ack(raw, "AA")

        with start_server("127.0.0.1", 0, slow) as listening, ThreadPoolExecutor(20) as pool:
            results = list(
                pool.map(
                    lambda n: mllp_send("127.0.0.1", listening.port, [oru(f"C{n}-{i}") for i in range(5)]),
                    range(20),
                )
            )
        assert [msa(ack)[1] for acks in results for ack in acks] == ["AA"] * 100
        assert max(concurrent) > 5  # served in parallel, not one connection after another

    def test_stop_closes_open_connections(self):
        listening = start_server("127.0.0.1", 0, accept_all, idle_timeout=60)
        sock = socket.create_connection(("127.0.0.1", listening.port))
        time.sleep(0.1)
        listening.stop()
        _, closed = read_frames(sock, timeout=3.0)
        sock.close()
        assert closed
        with pytest.raises(ConnectionRefusedError):
            mllp_send("127.0.0.1", listening.port, [oru("LATE")], timeout=1)


class TestHooks:
    def test_what_the_listener_refuses_itself_is_reported_with_the_reason(self):
        refused = []
        closed = threading.Event()
        with start_server(
            "127.0.0.1",
            0,
            accept_all,
            on_reject=lambda raw, peer, reason: refused.append((raw, reason)),
            on_close=lambda peer: closed.set(),
        ) as listening:
            with socket.create_connection(("127.0.0.1", listening.port)) as sock:
                sock.sendall(frame(b"NOT HL7 AT ALL"))
                [ack], _ = read_frames(sock, timeout=1.0)
            assert closed.wait(5)
        assert msa(ack)[1] == "AR"
        assert refused == [
            (b"NOT HL7 AT ALL", "not an HL7 v2 message: MSH: the message does not start with an MSH segment")
        ]

    def test_a_handler_returning_nothing_gives_an_application_error(self):
        with start_server("127.0.0.1", 0, lambda raw, peer: b"") as listening:
            [ack] = mllp_send("127.0.0.1", listening.port, [oru("N1")])
        assert msa(ack)[1:3] == ["AE", "N1"]
        assert "no acknowledgement" in err(ack)[8]

    def test_connections_beyond_the_limit_are_closed_at_once(self):
        with start_server("127.0.0.1", 0, accept_all, max_connections=1) as listening:
            first = socket.create_connection(("127.0.0.1", listening.port))
            deadline = time.monotonic() + 5
            while listening.connection_count < 1 and time.monotonic() < deadline:
                time.sleep(0.01)
            with socket.create_connection(("127.0.0.1", listening.port)) as second:
                frames, closed = read_frames(second, timeout=3.0)
            assert closed
            assert frames == []
            first.sendall(frame(oru("STILL")))
            [ack], _ = read_frames(first, timeout=1.0)
            first.close()
        assert msa(ack)[1:3] == ["AA", "STILL"]


def test_python_hl7s_client_and_command_get_their_acks(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    from hl7.client import MLLPClient

    with start_server("127.0.0.1", 0, accept_all) as listening:
        with MLLPClient("127.0.0.1", listening.port) as client:
            ack = client.send_message(oru("PY1").decode())
        assert msa(ack.strip(b"\x0b\x1c\r"))[1:3] == ["AA", "PY1"]

        command = Path(sys.executable).with_name("mllp_send")
        sample = tmp_path / "two.hl7"
        sample.write_bytes((oru("PY2") + oru("PY3")).replace(b"\r", b"\n"))
        sent = subprocess.run(
            [str(command), "--port", str(listening.port), "--file", str(sample), "--loose", "127.0.0.1"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
    acks = sent.stdout.replace("\n", "\r")
    assert "MSA|AA|PY2" in acks
    assert "MSA|AA|PY3" in acks


def test_an_ipv6_loopback_listener_works():
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    try:
        listening = start_server("::1", 0, accept_all)
    except OSError:
        pytest.skip("IPv6 loopback is not configured")
    with listening:
        [ack] = mllp_send("::1", listening.port, [oru("V6")])
    assert msa(ack)[1:3] == ["AA", "V6"]

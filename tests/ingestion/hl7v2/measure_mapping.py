"""How long map_message takes on a typical ORU^R01 with ten results. Run it in Django's shell:

    python manage.py shell -c "from tests.ingestion.hl7v2.measure_mapping import main; main()"

Prints CPU time per message (best of five rounds, so other work on the machine counts less) and the
wall-clock median and p99 of single calls. Not a test: timings depend on the machine.
"""

from __future__ import annotations

import os
import statistics
import time

RESULTS = [
    ("1022431000000105", "Haemoglobin estimation", "140", "g/L", "130-170"),
    ("1022541000000102", "White cell count", "6.2", "10*9/L", "4.0-11.0"),
    ("1022651000000100", "Platelets", "250", "10*9/L", "150-400"),
    ("1022491000000106", "MCV", "88", "fL", "80-100"),
    ("1000661000000107", "Serum sodium level", "139", "mmol/L", "133-146"),
    ("1000651000000109", "Serum potassium level", "4.2", "mmol/L", "3.5-5.3"),
    ("1000731000000107", "Serum creatinine", "<44", "umol/L", "59-104"),
    ("1020291000000106", "eGFR", ">90", "mL/min/{1.73_m2}", ">90"),
    ("999791000000106", "HbA1c", "41", "mmol/mol", "<42"),
    ("999651000000107", "CRP", "3", "mg/L", "<5"),
]


def typical_oru(control_id: str = "MSG1") -> bytes:
    segments = [
        f"MSH|^~\\&|WINPATH|RBD|DCR|DCR|20261122083000||ORU^R01^ORU_R01|{control_id}|P|2.5.1"
        "|||AL|NE||UNICODE UTF-8",
        "PID|1||9990000018^^^NHS^NH~H123456^^^RBD^MR||Smith^Jane^Mary^^Mrs||19800115|F|||"
        "1 High St^^Dorchester^^DT1 1AA||01305 123456",
        "PV1|1|O|OPD^^^RBD||||C1234567^Grey^Meredith^^^Dr|||||||||||V123^^^RBD^VN",
        "ORC|RE|P555^ICE|F777^WINPATH",
        "OBR|1|P555^ICE|F777^WINPATH|BLOODS^Blood panel^L|||20261122080000"
        "|||||||||||||||20261122082000||CH|F",
    ]
    for n, (code, name, value, unit, reference) in enumerate(RESULTS, start=1):
        flag = "H" if n == 3 else "N"
        segments.append(
            f"OBX|{n}|NM|{code}^{name}^SCT||{value}|{unit}^{unit}^UCUM|{reference}|{flag}|||F|||20261122080000"
        )
    segments.append("NTE|1||Comment on the last result")
    return ("\r".join(segments) + "\r").encode()


def main() -> None:
    from ingestion.hl7v2 import build_ack, map_message, read_header

    raw = typical_oru()
    for _ in range(300):
        map_message(raw)
    rounds = []
    for _ in range(5):
        started = time.process_time()
        for _ in range(1000):
            map_message(raw)
        rounds.append((time.process_time() - started) / 1000)
    calls = []
    for _ in range(2000):
        started = time.perf_counter()
        map_message(raw)
        calls.append(time.perf_counter() - started)
    calls.sort()
    started = time.process_time()
    for _ in range(2000):
        read_header(raw)
        build_ack(raw, "AA")
    header_and_ack = (time.process_time() - started) / 2000
    print(f"map_message, ORU^R01 with 10 results ({len(map_message(raw).items)} items):")
    print(f"  CPU time per message, best of 5 x 1000: {min(rounds) * 1e6:.0f} us")
    median, p99 = statistics.median(calls) * 1e6, calls[1980] * 1e6
    print(f"  wall clock per call: median {median:.0f} us, p99 {p99:.0f} us")
    print(f"read_header + build_ack: {header_and_ack * 1e6:.0f} us CPU")
    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()

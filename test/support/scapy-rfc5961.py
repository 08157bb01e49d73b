#!/usr/bin/python3
"""RFC 5961 probes against a TCP listener, for the interop tier (tap-security.test.ts).

    /usr/bin/python3 scapy-rfc5961.py IFACE SRC DST DPORT SPORT

Runs on the kernel side of the TAP (IFACE, address SRC) against a listener at DST:DPORT.
scapy does the whole handshake itself from SRC:SPORT (the caller drops the kernel's own
RSTs for this flow, or the kernel would reset it on the SYN-ACK), then:

  before        data "before-probes" sent; the application on DST echoes it back
  rst_in_window RST with SEQ = RCV.NXT + 1000 (in window, not exact): a challenge ACK
                (RFC 5961 3.2), no reset
  rst_outside   RST with SEQ far outside the window: dropped silently (RFC 5961 3.2)
  syn_in_window SYN with SEQ = RCV.NXT + 2000 on the established 4-tuple: a challenge
                ACK (RFC 5961 4.2), no reset
  syn_outside   SYN with SEQ outside the window: a challenge ACK as well
  after         data "after-probes" sent: still echoed (the connection was kept)
  rst_exact     RST with SEQ = RCV.NXT: no answer; the connection is reset
  post_reset    data on the old 4-tuple: answered with an RST (nothing there any more)

Frames are sent with an AF_PACKET socket on IFACE (so the caller's netfilter rule
dropping the kernel's RSTs does not drop ours) and read with a sniffer on IFACE.
Prints one JSON object; exit status 0 unless the script itself failed.
"""
import json
import queue
import random
import sys
import time

from scapy.all import ARP, IP, TCP, AsyncSniffer, Ether, Raw, conf, get_if_hwaddr, srp1  # type: ignore

conf.verb = 0

iface, src, dst = sys.argv[1], sys.argv[2], sys.argv[3]
dport, sport = int(sys.argv[4]), int(sys.argv[5])
M32 = 0xFFFFFFFF

frames: "queue.Queue" = queue.Queue()


def ours(p) -> bool:
    return IP in p and TCP in p and p[IP].src == dst and p[IP].dst == src and p[TCP].sport == dport and p[TCP].dport == sport


sniffer = AsyncSniffer(iface=iface, lfilter=ours, prn=frames.put, store=False)
sniffer.start()
time.sleep(0.3)

our_mac = get_if_hwaddr(iface)
reply = srp1(Ether(src=our_mac, dst="ff:ff:ff:ff:ff:ff") / ARP(op=1, hwsrc=our_mac, psrc=src, pdst=dst), iface=iface, timeout=3)
if reply is None:
    print(json.dumps({"error": f"no ARP reply from {dst}"}))
    sys.exit(1)
stack_mac = reply[ARP].hwsrc
l2 = conf.L2socket(iface=iface)


def send(flags: str, seq: int, ack: int = 0, payload: bytes = b"", options=None) -> None:
    tcp = TCP(sport=sport, dport=dport, flags=flags, seq=seq & M32, ack=ack & M32, window=65535, options=options or [])
    pkt = Ether(src=our_mac, dst=stack_mac) / IP(src=src, dst=dst, ttl=64) / tcp
    if payload:
        pkt = pkt / Raw(payload)
    l2.send(pkt)


def describe(p) -> dict:
    t = p[TCP]
    return {"flags": str(t.flags), "seq": t.seq, "ack": t.ack, "len": len(bytes(t.payload)), "win": t.window}


def collect(seconds: float, until=None) -> list:
    """Frames from DST for `seconds`, or until `until(frames so far)` is true."""
    got = []
    end = time.monotonic() + seconds
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return got
        try:
            got.append(frames.get(timeout=left))
        except queue.Empty:
            return got
        if until is not None and until(got):
            return got


def drain() -> list:
    return collect(0.05)


result: dict = {"stack_mac": stack_mac, "sport": sport}

# ---- handshake
iss = random.getrandbits(32)
send("S", iss, 0, options=[("MSS", 1460)])
synack = [p for p in collect(3.0, lambda g: any(str(x[TCP].flags) == "SA" for x in g)) if str(p[TCP].flags) == "SA"]
if not synack or synack[0][TCP].ack != (iss + 1) & M32:
    print(json.dumps({**result, "error": "no SYN-ACK", "got": [describe(p) for p in synack]}))
    sys.exit(1)
irs = synack[0][TCP].seq
snd_nxt = (iss + 1) & M32  # ours = the stack's RCV.NXT
rcv_nxt = (irs + 1) & M32  # the stack's SND.NXT
result["iss"], result["irs"] = iss, irs
send("A", snd_nxt, rcv_nxt)


def exchange(data: bytes, seconds: float = 3.0) -> dict:
    """Sends `data`, collects the stack's ACK and the echoed bytes (ACKing them)."""
    global snd_nxt, rcv_nxt
    drain()
    send("PA", snd_nxt, rcv_nxt, data)
    snd_nxt = (snd_nxt + len(data)) & M32
    echo = b""
    acked = False
    rst = False
    seen = []
    end = time.monotonic() + seconds
    while time.monotonic() < end and not (acked and len(echo) >= len(data)):
        for p in collect(min(0.2, max(0.0, end - time.monotonic()))):
            t = p[TCP]
            seen.append(describe(p))
            if "R" in str(t.flags):
                rst = True
            if "A" in str(t.flags) and t.ack == snd_nxt:
                acked = True
            body = bytes(t.payload)
            if body and t.seq == rcv_nxt:
                echo += body
                rcv_nxt = (rcv_nxt + len(body)) & M32
                send("A", snd_nxt, rcv_nxt)
        if rst:
            break
    return {"acked": acked, "echo": echo.decode("latin-1"), "rst": rst, "frames": seen}


def probe(flags: str, seq: int, answer_expected: bool) -> dict:
    """Sends one segment with `flags` and `seq`, reports the stack's answers (waits up to
    1.5 s for an expected answer, 0.5 s to see that none comes)."""
    drain()
    sent = {"flags": flags, "seq": seq & M32, "rcv_nxt": snd_nxt, "snd_nxt": rcv_nxt}
    send(flags, seq, 0)
    got = collect(1.5, lambda g: len(g) > 0) if answer_expected else collect(0.5)
    got += collect(0.1)  # anything right behind the first answer
    answers = [describe(p) for p in got]
    challenge = [a for a in answers if a["flags"] == "A" and a["len"] == 0 and a["seq"] == rcv_nxt and a["ack"] == snd_nxt]
    return {"sent": sent, "answers": answers, "challenge_ack": len(challenge) > 0, "rst": any("R" in a["flags"] for a in answers)}


result["before"] = exchange(b"before-probes")
result["rst_in_window"] = probe("R", snd_nxt + 1000, True)
result["rst_outside"] = probe("R", snd_nxt + 0x40000000, False)
result["syn_in_window"] = probe("S", snd_nxt + 2000, True)
result["syn_outside"] = probe("S", snd_nxt - 0x40000000, True)
result["after"] = exchange(b"after-probes")
result["rst_exact"] = probe("R", snd_nxt, False)
drain()
send("PA", snd_nxt, rcv_nxt, b"anyone-there")
post = collect(1.5, lambda g: any("R" in str(p[TCP].flags) for p in g))
result["post_reset"] = {"answers": [describe(p) for p in post], "rst": any("R" in str(p[TCP].flags) for p in post)}

sniffer.stop()
l2.close()
print(json.dumps(result))

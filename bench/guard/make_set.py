#!/usr/bin/env python3
"""A labelled set for guard.scan: sentences with personal data and secrets at known byte spans,
mixed with hard negatives that look alike (dates, versions, order numbers, card numbers that fail
Luhn, IBANs that fail mod-97, digit groups, UUIDs, hostnames). Synthetic and seeded: the labels
come from how each item was made, not from the detector. Writes JSON Lines {text, spans:[{type,
offset, length}]} to stdout.  usage: make_set.py [N] [SEED]"""
import json, random, string, sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
rnd = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 7)

def luhn_complete(prefix, length):
    digits = [int(c) for c in prefix]
    while len(digits) < length - 1:
        digits.append(rnd.randint(0, 9))
    for check in range(10):
        d = digits + [check]
        s = 0
        for i, v in enumerate(reversed(d)):
            if i % 2 == 1:
                v *= 2
                if v > 9: v -= 9
            s += v
        if s % 10 == 0:
            return "".join(map(str, d))

def group(s, sizes, sep):
    out, i = [], 0
    for k in sizes:
        out.append(s[i:i + k]); i += k
    if i < len(s): out.append(s[i:])
    return sep.join(x for x in out if x)

def card():
    kind = rnd.choice([("4", 16), ("51", 16), ("37", 15), ("6011", 16)])
    num = luhn_complete(*kind)
    sep = rnd.choice(["", " ", "-"])
    return group(num, [4, 6, 5] if kind[1] == 15 else [4, 4, 4, 4], sep) if sep else num

def bad_card():
    num = card().replace(" ", "").replace("-", "")
    last = (int(num[-1]) + rnd.randint(1, 9)) % 10
    return group(num[:-1] + str(last), [4, 4, 4, 4], " ")

def iban(valid=True):
    country, length = rnd.choice([("DE", 22), ("GB", 22), ("FR", 27), ("NL", 18), ("ES", 24)])
    bban = "".join(rnd.choice(string.digits + (string.ascii_uppercase if country in "GBNL" else "")) for _ in range(length - 4))
    if country in ("GB", "NL"):
        bban = "".join(rnd.choice(string.ascii_uppercase) for _ in range(4)) + "".join(rnd.choice(string.digits) for _ in range(length - 8))
    num = int("".join(str(int(c, 36)) for c in bban + country + "00"))
    check = 98 - num % 97
    if not valid: check = (check + rnd.randint(1, 50)) % 97 + 2
    s = f"{country}{check:02d}{bban}"
    return group(s, [4] * 10, " ") if rnd.random() < 0.5 else s

def email():
    user = rnd.choice(["ann", "bob.smith", "j_doe", "maria+news", "li.wei99", "o'neil"]).replace("'", "")
    dom = rnd.choice(["example.com", "mail.example.org", "uni-x.edu", "corp.co.uk"])
    return f"{user}@{dom}"

def phone():
    return rnd.choice([
        lambda: f"+1 {rnd.randint(200,999)}-{rnd.randint(200,999)}-{rnd.randint(1000,9999)}",
        lambda: f"({rnd.randint(200,999)}) {rnd.randint(200,999)}-{rnd.randint(1000,9999)}",
        lambda: f"{rnd.randint(200,999)}-{rnd.randint(200,999)}-{rnd.randint(1000,9999)}",
        lambda: f"+44 20 {rnd.randint(1000,9999)} {rnd.randint(1000,9999)}",
        lambda: f"+49{rnd.randint(1500000000,1799999999)}",
        lambda: f"+33 6 {rnd.randint(10,99)} {rnd.randint(10,99)} {rnd.randint(10,99)} {rnd.randint(10,99)}",
    ])()

def ip():
    if rnd.random() < 0.7:
        return ".".join(str(rnd.randint(1, 254)) for _ in range(4))
    return rnd.choice(["2001:db8::", "fe80::", "2001:db8:85a3::"]) + format(rnd.randint(1, 65535), "x")

def api_key():
    a = string.ascii_letters + string.digits
    return rnd.choice([
        lambda: "sk-proj-" + "".join(rnd.choice(a) for _ in range(40)),
        lambda: "sk-ant-api03-" + "".join(rnd.choice(a + "_-") for _ in range(60)),
        lambda: "AKIA" + "".join(rnd.choice(string.ascii_uppercase + string.digits) for _ in range(16)),
        lambda: "ghp_" + "".join(rnd.choice(a) for _ in range(36)),
        lambda: "AIza" + "".join(rnd.choice(a + "_-") for _ in range(35)),
        lambda: "xoxb-" + "-".join("".join(rnd.choice(string.digits) for _ in range(11)) for _ in range(2)) + "-" + "".join(rnd.choice(a) for _ in range(24)),
    ])()

def negative():
    return rnd.choice([
        lambda: f"{rnd.randint(2000,2030)}-{rnd.randint(1,12):02d}-{rnd.randint(1,28):02d}",
        lambda: f"order {rnd.randint(1000,9999)} {rnd.randint(1000,9999)}",
        lambda: f"invoice #{rnd.randint(100000,999999)}",
        lambda: bad_card(),
        lambda: iban(valid=False),
        lambda: f"v{rnd.randint(1,9)}.{rnd.randint(0,20)}.{rnd.randint(0,99)}",
        lambda: f"{rnd.randint(1,99)}:{rnd.randint(10,59)}:{rnd.randint(10,59)}",
        lambda: "%08x-%04x-%04x-%04x-%012x" % (rnd.getrandbits(32), rnd.getrandbits(16), rnd.getrandbits(16), rnd.getrandbits(16), rnd.getrandbits(48)),
        lambda: f"${rnd.randint(1,999)},{rnd.randint(100,999)}.{rnd.randint(10,99)}",
        lambda: f"ISBN 978-{rnd.randint(0,9)}-{rnd.randint(100,999)}-{rnd.randint(10000,99999)}-{rnd.randint(0,9)}",
        lambda: f"api.example.com:{rnd.randint(1000,65000)}",
        lambda: f"room {rnd.randint(100,999)}, ext. {rnd.randint(1000,9999)}",
        lambda: f"sk-{rnd.randint(10,99)}",
    ])()

makers = {"email": email, "phone": phone, "card": card, "iban": iban, "ip": ip, "api_key": api_key}
fillers = ["Please contact", "The record shows", "Reach me via", "Updated on", "Customer said", "Noted:", "See",
           "for the account", "and also", "before the meeting", "as agreed", "thanks!"]
for _ in range(n):
    text, spans = "", []
    for _ in range(rnd.randint(2, 5)):
        text += rnd.choice(fillers) + " "
        r = rnd.random()
        if r < 0.55:
            kind = rnd.choice(list(makers))
            item = makers[kind]()
            spans.append({"type": kind, "offset": len(text.encode()), "length": len(item.encode())})
            text += item
        else:
            text += negative()
        text += rnd.choice([" ", ", ", ". ", "; "])
    print(json.dumps({"text": text.strip(), "spans": spans}))

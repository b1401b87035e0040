#!/usr/bin/env python3
"""tests/ha/load.py: kiosks and counters against one kolappd, a ledger of
every answer, and the check of that ledger against the database.

  load.py run --port P --clients FILE --ledger FILE --stop FILE
      One thread and one connection per client (FILE: JSON, {"kiosks":
      [{"token","office","queues"}], "counters": [{"token","office",
      "name"}]}), one request at a time. Kiosks issue with an idempotency
      key (the same key again after `unavailable`, a new one after `ok`);
      counters open once, then call_next (which ends their held ticket as
      done). Every answer is a line of the ledger (JSON: t0 sent, t1
      answered, both Unix seconds; who, op, key, outcome, ticket, finished).
      Stops sending when the file --stop exists, waits for the answers in
      flight, and exits.

  load.py count --ledger FILE --op OP [--after T]
      How many requests OP were answered ok (sent at or after T).

  load.py verify --ledger FILE --conninfo C [--round K,P ...] [--json FILE]
      The acknowledged changes against the database (psql C): every issue
      answered ok is there with its number, every key only ever answered
      `unavailable` is not; numbers per queue are 1..n with no gap and no
      duplicate; every ticket a call_next answered ok is no longer waiting,
      and every ticket it reported finished is done; no ticket was called
      twice. Each --round K,P (the kill and the promotion, Unix seconds)
      gets its figures: service back (the first ok issue sent after K)
      from P and from K, requests answered `unavailable` from K to then.
      Exit status 1 when anything acknowledged is missing or wrong.
"""

import argparse
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time

REPLY_TIMEOUT = 60.0  # an in-doubt batch is answered once the database says


class Ledger:
    def __init__(self, path):
        self.f = open(path, "a", buffering=1)
        self.mu = threading.Lock()

    def add(self, **rec):
        line = json.dumps(rec, separators=(",", ":"))
        with self.mu:
            self.f.write(line + "\n")


class Conn:
    def __init__(self, port, token):
        self.port, self.token = port, token
        self.sock = None
        self.buf = b""
        self.next_id = 1

    def close(self):
        if self.sock:
            try:
                self.sock.close()
            except OSError:
                pass
        self.sock = None
        self.buf = b""

    def request(self, msg):
        """Sends msg, returns the reply (dict) or raises OSError."""
        if self.sock is None:
            self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
            self.sock.settimeout(REPLY_TIMEOUT)
            self.buf = b""
            hello = self._exchange({"op": "hello", "token": self.token})
            if not hello.get("ok"):
                err = hello.get("error", {}).get("code")
                self.close()
                raise OSError("hello: %s" % err)
        return self._exchange(msg)

    def _exchange(self, msg):
        msg = dict(msg, id=self.next_id)
        self.next_id += 1
        self.sock.sendall((json.dumps(msg) + "\n").encode())
        while True:
            while b"\n" not in self.buf:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise OSError("connection closed")
                self.buf += chunk
            line, self.buf = self.buf.split(b"\n", 1)
            rep = json.loads(line)
            if rep.get("id") == msg["id"]:
                return rep


def outcome(rep):
    return "ok" if rep.get("ok") else rep.get("error", {}).get("code", "?")


def kiosk(args, c, idx, ledger, stop):
    conn = Conn(args.port, c["token"])
    rnd = random.Random(idx)
    seq, key, queue = 0, None, None
    while not os.path.exists(stop):
        if key is None:
            seq += 1
            key = "k%d-%d" % (idx, seq)
            queue = rnd.choice(c["queues"])
        t0 = time.time()
        try:
            rep = conn.request({"op": "issue", "queue": queue, "key": key})
        except (OSError, ValueError) as e:
            ledger.add(t0=t0, t1=time.time(), who="kiosk%d" % idx, op="issue", key=key,
                       office=c["office"], queue=queue, outcome="lost", why=str(e))
            conn.close()
            time.sleep(0.1)
            continue
        t = rep.get("ticket") or {}
        ledger.add(t0=t0, t1=time.time(), who="kiosk%d" % idx, op="issue", key=key,
                   office=c["office"], queue=queue, outcome=outcome(rep),
                   ticket=t.get("code"), number=t.get("number"))
        if rep.get("ok"):
            key = None
            time.sleep(args.pause)
        else:
            time.sleep(0.05)
    conn.close()


def counter(args, c, idx, ledger, stop):
    conn = Conn(args.port, c["token"])
    opened = False
    who = "counter%d" % idx
    while not os.path.exists(stop):
        op = "call_next" if opened else "counter_open"
        t0 = time.time()
        try:
            rep = conn.request({"op": op})
        except (OSError, ValueError) as e:
            ledger.add(t0=t0, t1=time.time(), who=who, op=op, office=c["office"],
                       counter=c["name"], outcome="lost", why=str(e))
            conn.close()
            time.sleep(0.1)
            continue
        rec = dict(t0=t0, t1=time.time(), who=who, op=op, office=c["office"],
                   counter=c["name"], outcome=outcome(rep))
        if op == "call_next" and rep.get("ok"):
            rec["ticket"] = (rep.get("ticket") or {}).get("code")
            rec["finished"] = rep.get("finished")
        ledger.add(**rec)
        if rep.get("ok"):
            opened = True
            time.sleep(args.pause * 2 if rec.get("ticket") or op != "call_next" else 0.2)
        else:
            time.sleep(0.05)
    conn.close()


def cmd_run(args):
    with open(args.clients) as f:
        clients = json.load(f)
    ledger = Ledger(args.ledger)
    threads = []
    for i, c in enumerate(clients["kiosks"]):
        threads.append(threading.Thread(target=kiosk, args=(args, c, i + 1, ledger, args.stop)))
    for i, c in enumerate(clients["counters"]):
        threads.append(threading.Thread(target=counter, args=(args, c, i + 1, ledger, args.stop)))
    for t in threads:
        t.daemon = True
        t.start()
    for t in threads:
        t.join(REPLY_TIMEOUT + 30)
    return 0


def read_ledger(path):
    recs = []
    if not os.path.exists(path):
        return recs
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                recs.append(json.loads(line))
    return recs


def cmd_count(args):
    n = 0
    for r in read_ledger(args.ledger):
        if r["op"] == args.op and r["outcome"] == "ok" and r["t0"] >= args.after:
            if args.op != "call_next" or r.get("ticket"):
                n += 1
    print(n)
    return 0


def psql_rows(conninfo, sql):
    out = subprocess.run(["psql", conninfo, "-XAtq", "-v", "ON_ERROR_STOP=1", "-F", "\t", "-c", sql],
                         check=True, capture_output=True, text=True).stdout
    return [line.split("\t") for line in out.splitlines() if line]


def cmd_verify(args):
    recs = read_ledger(args.ledger)
    rows = psql_rows(args.conninfo, """
        SELECT o.code, q.code, t.code, t.number, t.state, coalesce(t.idem_key, '')
          FROM kolapp.tickets t
          JOIN kolapp.offices o ON o.id = t.office_id
          JOIN kolapp.queues q ON q.id = t.origin_queue_id""")
    db = {}      # (office, code) -> (number, state)
    by_key = {}  # (office, key) -> code
    numbers = {}  # (office, queue) -> [numbers]
    for office, queue, code, number, state, key in rows:
        db[(office, code)] = (int(number), state)
        if key:
            by_key[(office, key)] = code
        numbers.setdefault((office, queue), []).append(int(number))

    problems = []

    def problem(msg):
        if len(problems) < 20:
            print("  PROBLEM: " + msg)
        problems.append(msg)

    issues = [r for r in recs if r["op"] == "issue"]
    acked = [r for r in issues if r["outcome"] == "ok"]
    keys_ok = {(r["office"], r["key"]) for r in acked}
    # Keys whose every attempt got an answer and none of them ok.
    keys_unanswered = {(r["office"], r["key"]) for r in issues if r["outcome"] == "lost"}
    keys_refused = {(r["office"], r["key"]) for r in issues
                    if r["outcome"] == "unavailable"} - keys_ok - keys_unanswered
    lost = 0
    seen_codes = {}
    for r in acked:
        k = (r["office"], r["key"])
        code = by_key.get(k)
        if code is None:
            lost += 1
            problem("issue %s answered ok as %s is not in the database" % (r["key"], r["ticket"]))
        elif code != r["ticket"] or db[(r["office"], code)][0] != r["number"]:
            lost += 1
            problem("issue %s answered %s, the database has %s" % (r["key"], r["ticket"], code))
        prev = seen_codes.get((r["office"], r["ticket"]))
        if prev is not None and prev != r["key"]:
            problem("%s %s acknowledged for two keys: %s and %s" % (r["office"], r["ticket"], prev,
                                                                   r["key"]))
        seen_codes[(r["office"], r["ticket"])] = r["key"]
    refused_present = 0
    for k in keys_refused:
        if k in by_key:
            refused_present += 1
            problem("issue %s was only ever answered unavailable, yet %s exists" % (k[1], by_key[k]))
    gaps = 0
    for (office, queue), ns in sorted(numbers.items()):
        ns.sort()
        if ns != list(range(1, len(ns) + 1)):
            gaps += 1
            problem("%s queue %s: numbers are not 1..%d without gaps or duplicates" %
                    (office, queue, len(ns)))
    calls = [r for r in recs if r["op"] == "call_next" and r["outcome"] == "ok"]
    called = {}
    for r in calls:
        if r.get("ticket"):
            k = (r["office"], r["ticket"])
            st = db.get(k)
            if st is None or st[1] == "waiting":
                lost += 1
                problem("%s called %s (acknowledged), the database has it %s" %
                        (r["who"], r["ticket"], st[1] if st else "missing"))
            if k in called:
                problem("%s was called twice: by %s and by %s" % (r["ticket"], called[k], r["who"]))
            called[k] = r["who"]
        if r.get("finished"):
            st = db.get((r["office"], r["finished"]))
            if st is None or st[1] != "done":
                lost += 1
                problem("%s finished %s (acknowledged), the database has it %s" %
                        (r["who"], r["finished"], st[1] if st else "missing"))
    errors = {}
    for r in recs:
        if r["outcome"] not in ("ok", "unavailable"):
            errors[r["op"] + " " + r["outcome"]] = errors.get(r["op"] + " " + r["outcome"], 0) + 1
    for what, n in sorted(errors.items()):
        if not what.endswith(" lost"):
            problem("%d answers %s" % (n, what))

    nunavail = sum(1 for r in recs if r["outcome"] == "unavailable")
    print("ledger: %d issues acknowledged (%d tickets in the database), %d calls acknowledged, "
          "%d answers unavailable, %d requests without an answer (connection lost or stopped)" %
          (len(acked), len(rows), sum(1 for r in calls if r.get("ticket")), nunavail,
           sum(1 for r in recs if r["outcome"] == "lost")))
    print("acknowledged changes lost or wrong: %d; refused issues present anyway: %d; queues "
          "with a gap or duplicate: %d" % (lost, refused_present, gaps))
    figures = {"lost": lost, "refused_present": refused_present, "gaps": gaps,
               "issues_ok": len(acked), "calls_ok": sum(1 for r in calls if r.get("ticket")),
               "unavailable": nunavail, "problems": len(problems), "rounds": []}
    for spec in args.round or []:
        kill, promoted = (float(x) for x in spec.split(","))
        back = min((r["t1"] for r in acked if r["t0"] >= kill), default=None)
        window_end = back if back is not None else float("inf")
        refused = sum(1 for r in recs if r["outcome"] == "unavailable" and kill <= r["t1"] <= window_end)
        slow = max((r["t1"] - r["t0"] for r in recs if r["outcome"] == "ok" and r["t1"] >= kill
                    and r["t0"] <= window_end), default=0.0)
        rd = {"kill": kill, "promoted": promoted, "back": back,
              "promotion_s": promoted - kill,
              "back_from_promotion_s": None if back is None else back - promoted,
              "back_from_kill_s": None if back is None else back - kill,
              "unavailable": refused, "slowest_ok_s": slow}
        figures["rounds"].append(rd)
        if back is None:
            problem("no issue was answered ok after the kill at %.3f" % kill)
            print("round: kill→promotion %.2f s; service never came back" % (promoted - kill))
        else:
            print("round: kill→promotion %.2f s, promotion→service back %.2f s, kill→service back "
                  "%.2f s, %d requests answered unavailable meanwhile, slowest ok answer %.2f s" %
                  (promoted - kill, back - promoted, back - kill, refused, slow))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(figures, f)
    return 1 if problems else 0


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--port", type=int, required=True)
    r.add_argument("--clients", required=True)
    r.add_argument("--ledger", required=True)
    r.add_argument("--stop", required=True)
    r.add_argument("--pause", type=float, default=0.03)
    c = sub.add_parser("count")
    c.add_argument("--ledger", required=True)
    c.add_argument("--op", default="issue")
    c.add_argument("--after", type=float, default=0.0)
    v = sub.add_parser("verify")
    v.add_argument("--ledger", required=True)
    v.add_argument("--conninfo", required=True)
    v.add_argument("--round", action="append")
    v.add_argument("--json")
    args = p.parse_args()
    return {"run": cmd_run, "count": cmd_count, "verify": cmd_verify}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())

import subprocess, re, sys, os, json
cands = [l.strip() for l in open('/tmp/kt/cands2.txt') if l.strip() and not l.startswith('include')]
ARGS = " 1 2 3 4 5 6 7 8"
# context name -> (open lines template, close lines); {n} unique index
RS = "virtual_server 192.0.2.1 {p} {{\n lb_algo rr\n real_server 192.0.2.2 80 {{\n"
CTX = {
 "root": ("", ""),
 "global_defs": ("global_defs {{\n", "}}\n"),
 "vrrp_script": ("vrrp_script S{n} {{\n script /bin/true\n", "}}\n"),
 "track_file": ("track_file F{n} {{\n file /tmp/x{n}\n", "}}\n"),
 "vrrp_track_process": ("vrrp_track_process P{n} {{\n process foo\n", "}}\n"),
 "bfd_instance": ("bfd_instance B{n} {{\n neighbor_ip 192.0.2.9\n", "}}\n"),
 "vrrp_sync_group": ("vrrp_sync_group G{n} {{\n group {{\n VI_X\n }}\n", "}}\n"),
 "garp_group": ("garp_group {{\n garp_interval 1\n", "}}\n"),
 "track_group": ("track_group T{n} {{\n", "}}\n"),
 "vrrp_instance": ("vrrp_instance V{n} {{\n virtual_router_id 1\n", "}}\n"),
 "authentication": ("vrrp_instance V{n} {{\n authentication {{\n", "}}\n}}\n"),
 "virtual_server": ("virtual_server 192.0.2.1 {p} {{\n", "}}\n"),
 "virtual_server_group": ("virtual_server_group VG{n} {{\n", "}}\n"),
 "real_server": (RS, "}}\n}}\n"),
 "HTTP_GET": (RS + "HTTP_GET {{\n", "}}\n}}\n}}\n"),
 "SSL_GET": (RS + "SSL_GET {{\n", "}}\n}}\n}}\n"),
 "url": (RS + "HTTP_GET {{\n url {{\n", "}}\n}}\n}}\n}}\n"),
 "TCP_CHECK": (RS + "TCP_CHECK {{\n", "}}\n}}\n}}\n"),
 "SMTP_CHECK": (RS + "SMTP_CHECK {{\n", "}}\n}}\n}}\n"),
 "host": (RS + "SMTP_CHECK {{\n host {{\n", "}}\n}}\n}}\n}}\n"),
 "DNS_CHECK": (RS + "DNS_CHECK {{\n", "}}\n}}\n}}\n"),
 "MISC_CHECK": (RS + "MISC_CHECK {{\n misc_path /bin/true\n", "}}\n}}\n}}\n"),
 "UDP_CHECK": (RS + "UDP_CHECK {{\n", "}}\n}}\n}}\n"),
 "PING_CHECK": (RS + "PING_CHECK {{\n", "}}\n}}\n}}\n"),
 "FILE_CHECK": (RS + "FILE_CHECK {{\n track_file F1\n", "}}\n}}\n}}\n"),
 "BFD_CHECK": (RS + "BFD_CHECK {{\n", "}}\n}}\n}}\n"),
 "SSL": ("SSL {{\n", "}}\n"),
}
UNK = re.compile(r"Line (\d+)\) Unknown keyword '([^']*)'")
def run(text, name):
    path = f"/tmp/kt/probe/{name}.conf"
    open(path, "w").write(text)
    try:
        out = subprocess.run(["keepalived", "-t", "-f", path], capture_output=True, text=True, errors="replace", timeout=60).stderr
    except subprocess.TimeoutExpired:
        out = ""
    return out
def build(ctx, items):
    op, cl = CTX[ctx]
    lines = []
    cline = {}
    for i, c in items:
        o = op.format(n=i, p=1000 + i)
        for l in o.splitlines(): lines.append(l)
        lines.append(c + ARGS)
        cline[len(lines)] = c
        for l in cl.format(n=i, p=1000 + i).splitlines(): lines.append(l)
    lines.append("zzz_sentinel")
    return "\n".join(lines) + "\n", cline
def unknown_at(out, cline):
    rep = set()
    for m in UNK.finditer(out):
        ln = int(m.group(1))
        if cline.get(ln) == m.group(2): rep.add(m.group(2))
    return rep
result = {}
ctxs = sys.argv[1:] or list(CTX)
for ctx in ctxs:
    # sentinel check: the wrapper must report unknowns
    t, cl = build(ctx, [(1, "zzz_probe_unknown")])
    o = run(t, "s_" + ctx)
    if "zzz_probe_unknown" not in o:
        print("WRAPPER BROKEN", ctx, o[:500]); continue
    maybe = set()
    for direction in (1, -1):
        items = list(enumerate(cands))[::direction]
        t, cl = build(ctx, items)
        o = run(t, f"b_{ctx}_{direction}")
        if "zzz_sentinel" not in o: print("batch aborted", ctx, direction, o[-300:])
        rep = unknown_at(o, cl)
        maybe |= set(cands) - rep
    known = []
    for c in sorted(maybe):
        t, cl = build(ctx, [(1, c)])
        o = run(t, "v_" + ctx)
        if "zzz_sentinel" not in o:
            # aborted (e.g. exit) -> the keyword was handled, so known
            known.append(c); continue
        if not unknown_at(o, cl): known.append(c)
    result[ctx] = known
    print(ctx, len(maybe), len(known), " ".join(known), flush=True)
json.dump(result, open("/tmp/kt/probe/result_%s.json" % ("_".join(ctxs) if len(ctxs) < 3 else "all"), "w"), indent=1)
